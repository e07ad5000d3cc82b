// What Tessera needs from an identity provider, whatever its protocol (OIDC in oidc.ts, GitHub's OAuth 2.0
// and user API in github.ts), and one mapping of the libraries' failures onto our codes: the user is
// sent back to the SPA with one of them, and the log gets the detail.
import { AuthorizationResponseError, ResponseBodyError } from 'openid-client';
import { DomainError } from '../domain-error.js';
import type { ProviderSettings } from './providers.js';

/** The per-sign-in secrets the callback must check: kept server-side, keyed by the browser's cookie. */
export interface FlowSecrets {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface AuthorizationRequest {
  url: string;
  secrets: FlowSecrets;
}

/** Who the provider says the user is. */
export interface ProviderProfile {
  /** The provider's stable id for the user (never the email, which can change hands). */
  subject: string;
  email: string | undefined;
  /** True only when the provider explicitly asserts the email is verified. */
  emailVerified: boolean;
}

export interface UpstreamProvider {
  readonly settings: ProviderSettings;
  authorizationRequest(redirectUri: string): Promise<AuthorizationRequest>;
  /** Checks the callback and redeems its code; throws DomainError with an oauth_* code. */
  complete(callbackUrl: URL, redirectUri: string, secrets: FlowSecrets): Promise<ProviderProfile>;
}

/** openid-client codes for a provider that timed out or answered something that is not an OAuth answer. */
const UNAVAILABLE = new Set([
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_RESPONSE_IS_NOT_JSON',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
]);

/** A failure talking to the provider, as one of our codes (the detail goes to the log only). */
export function asProviderError(err: unknown, step: 'discovery' | 'callback'): Error {
  if (err instanceof DomainError) return err;
  // openid-client words its errors generally and keeps the specific one (which parameter) as the cause.
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const message = `${err instanceof Error ? err.message : String(err)}${cause}`;
  const detail = `${step}: ${message}`;
  if (err instanceof AuthorizationResponseError) {
    // The provider sent the user back with an error instead of a code: "cancel" is access_denied.
    return new DomainError(err.error === 'access_denied' ? 'oauth_access_denied' : 'oauth_provider_error', {
      detail: `${step}: provider error ${err.error}`,
    });
  }
  if (err instanceof ResponseBodyError) {
    // invalid_grant: the code was used already, expired, or the PKCE verifier does not match it.
    if (err.status >= 500)
      return new DomainError('oauth_provider_unavailable', { detail: `${step}: provider answered ${err.status}` });
    return new DomainError('oauth_code_rejected', { detail: `${step}: token endpoint said ${err.error}` });
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('OAUTH_')) {
    if (step === 'discovery' || UNAVAILABLE.has(code)) return new DomainError('oauth_provider_unavailable', { detail });
    if (/"state"/.test(message)) return new DomainError('oauth_state_invalid', { detail });
    // A wrong issuer (the RFC 9207 parameter or the ID token's), audience, nonce, signature or date.
    return new DomainError('oauth_response_invalid', { detail });
  }
  // Network failures (refused, reset, timed out): the provider is not usable now. Anything else is ours.
  if (
    err instanceof TypeError ||
    (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
  ) {
    return new DomainError('oauth_provider_unavailable', { detail });
  }
  return err instanceof Error ? err : new Error(detail);
}
