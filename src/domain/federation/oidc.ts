// An OpenID Connect provider (generic, Google, Microsoft), through panva's openid-client: discovery,
// PKCE (S256), state, nonce, the ID token's signature, issuer, audience and dates, and the RFC 9207 `iss`
// response parameter are all checked there, not here. This file only maps its outcomes onto our codes.
//
// Discovery happens on first use, not at boot (a provider that is down must not stop Tessera), and is
// retried on the next sign-in when it failed. http:// issuers are accepted only on loopback outside
// production (src/domain/federation/providers.ts); for those, openid-client's allowInsecureRequests is
// turned on, and for nothing else.
import * as client from 'openid-client';
import { DomainError } from '../domain-error.js';
import { isLoopback, type ProviderSettings } from './providers.js';
import {
  asProviderError,
  type AuthorizationRequest,
  type FlowSecrets,
  type ProviderProfile,
  type UpstreamProvider,
} from './upstream.js';

/** Seconds each request to the provider may take. */
const TIMEOUT_SECONDS = 5;

export class OidcProvider implements UpstreamProvider {
  private configuration: Promise<client.Configuration> | undefined;

  constructor(readonly settings: ProviderSettings) {}

  private config(): Promise<client.Configuration> {
    this.configuration ??= this.discover().catch((err: unknown) => {
      this.configuration = undefined; // try again on the next sign-in
      throw asProviderError(err, 'discovery');
    });
    return this.configuration;
  }

  private async discover(): Promise<client.Configuration> {
    const issuer = new URL(this.settings.issuer!);
    const insecure = issuer.protocol === 'http:' && isLoopback(issuer.hostname);
    return client.discovery(
      issuer,
      this.settings.clientId,
      this.settings.clientSecret,
      client.ClientSecretPost(this.settings.clientSecret),
      {
        timeout: TIMEOUT_SECONDS,
        ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
      },
    );
  }

  async authorizationRequest(redirectUri: string): Promise<AuthorizationRequest> {
    const config = await this.config();
    const secrets: FlowSecrets = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.settings.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(secrets.codeVerifier),
      code_challenge_method: 'S256',
      state: secrets.state,
      nonce: secrets.nonce,
    });
    return { url: url.href, secrets };
  }

  async complete(callbackUrl: URL, redirectUri: string, secrets: FlowSecrets): Promise<ProviderProfile> {
    const config = await this.config();
    let claims: { sub: string; email?: unknown; email_verified?: unknown };
    try {
      const tokens = await client.authorizationCodeGrant(
        config,
        callbackUrl,
        {
          pkceCodeVerifier: secrets.codeVerifier,
          expectedState: secrets.state,
          expectedNonce: secrets.nonce,
          idTokenExpected: true,
        },
        { redirect_uri: redirectUri },
      );
      const idToken = tokens.claims();
      if (!idToken) throw new DomainError('oauth_response_invalid', { detail: 'no ID token' });
      claims = idToken;
      // OIDC Core §5.4: with an access token, the claims of the email scope may come from UserInfo only (what
      // oidc-provider does by default). Then both come from there, never an address from one and its
      // verification from the other; openid-client refuses an answer whose sub is not the ID token's.
      if (typeof idToken.email !== 'string' && config.serverMetadata().userinfo_endpoint) {
        const info = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
        claims = { sub: idToken.sub, email: info.email, email_verified: info.email_verified };
      }
    } catch (err) {
      throw asProviderError(err, 'callback');
    }
    return {
      subject: claims.sub,
      email: typeof claims.email === 'string' ? claims.email : undefined,
      // Only an explicit `true` counts; Microsoft, for one, never asserts it (its email claim is not verified).
      emailVerified: claims.email_verified === true,
    };
  }
}
