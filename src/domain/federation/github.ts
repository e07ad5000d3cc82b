// GitHub: OAuth 2.0 without OpenID Connect, so there is no ID token and no discovery. openid-client still
// does the protocol (authorization URL, state, PKCE, the code exchange) from metadata written here; who
// the user is comes from GitHub's user API (the numeric id is the subject: logins can be renamed), and the
// email only from its emails API, and only the primary address when GitHub says it is verified.
// GitHub Enterprise Server (or a stand-in in tests) is reached through `github_urls` in the provider file.
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

const TIMEOUT_SECONDS = 5;

interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

export class GithubProvider implements UpstreamProvider {
  private readonly config: client.Configuration;
  private readonly apiUrl: string;

  constructor(readonly settings: ProviderSettings) {
    const urls = settings.github!;
    this.apiUrl = urls.apiUrl;
    this.config = new client.Configuration(
      {
        issuer: new URL(urls.authorizeUrl).origin,
        authorization_endpoint: urls.authorizeUrl,
        token_endpoint: urls.tokenUrl,
      },
      settings.clientId,
      settings.clientSecret,
      client.ClientSecretPost(settings.clientSecret),
    );
    this.config.timeout = TIMEOUT_SECONDS;
    // GitHub answers a bad code (used, expired, wrong PKCE verifier) with HTTP 200 and an `error` member;
    // RFC 6749 says 400. Given the 400, openid-client reports it as the error response it is.
    this.config[client.customFetch] = async (url, options) => {
      const response = await fetch(url, options as RequestInit);
      if (url !== urls.tokenUrl || response.status !== 200) return response;
      const text = await response.text();
      let failed = false;
      try {
        failed = typeof (JSON.parse(text) as { error?: unknown }).error === 'string';
      } catch {
        failed = false;
      }
      return new Response(text, {
        status: failed ? 400 : 200,
        headers: { 'content-type': response.headers.get('content-type') ?? 'application/json' },
      });
    };
    const hosts = [urls.authorizeUrl, urls.tokenUrl, urls.apiUrl].map((u) => new URL(u));
    if (hosts.some((u) => u.protocol === 'http:')) {
      if (!hosts.every((u) => u.protocol === 'https:' || isLoopback(u.hostname)))
        throw new Error('github_urls: http only on loopback');
      client.allowInsecureRequests(this.config);
    }
  }

  async authorizationRequest(redirectUri: string): Promise<AuthorizationRequest> {
    const secrets: FlowSecrets = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
    };
    const url = client.buildAuthorizationUrl(this.config, {
      redirect_uri: redirectUri,
      scope: this.settings.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(secrets.codeVerifier),
      code_challenge_method: 'S256',
      state: secrets.state,
    });
    return { url: url.href, secrets };
  }

  async complete(callbackUrl: URL, redirectUri: string, secrets: FlowSecrets): Promise<ProviderProfile> {
    try {
      const tokens = await client.authorizationCodeGrant(
        this.config,
        callbackUrl,
        {
          pkceCodeVerifier: secrets.codeVerifier,
          expectedState: secrets.state,
        },
        { redirect_uri: redirectUri },
      );
      const user = await this.api<{ id?: unknown }>(tokens.access_token, '/user');
      if (typeof user.id !== 'number' && typeof user.id !== 'string')
        throw new DomainError('oauth_response_invalid', { detail: 'GitHub user has no id' });
      const emails = await this.api<GithubEmail[]>(tokens.access_token, '/user/emails');
      const primary = Array.isArray(emails)
        ? emails.find((e) => e && e.primary === true && e.verified === true && typeof e.email === 'string')
        : undefined;
      return { subject: String(user.id), email: primary?.email, emailVerified: primary !== undefined };
    } catch (err) {
      throw asProviderError(err, 'callback');
    }
  }

  private async api<T>(accessToken: string, path: string): Promise<T> {
    const response = await client.fetchProtectedResource(
      this.config,
      accessToken,
      new URL(`${this.apiUrl}${path}`),
      'GET',
      undefined,
      new Headers({
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
      }),
    );
    if (response.status >= 500)
      throw new DomainError('oauth_provider_unavailable', { detail: `GitHub ${path} answered ${response.status}` });
    if (!response.ok)
      throw new DomainError('oauth_response_invalid', { detail: `GitHub ${path} answered ${response.status}` });
    return (await response.json()) as T;
  }
}
