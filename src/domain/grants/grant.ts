// What a grant module is: the contract between POST /oauth/token (src/routes/token.ts) and one grant type,
// in the manner of node-oidc-provider's lib/actions/grants/. The route authenticates the client first
// (src/domain/authz/client-authentication.ts), then registry.ts hands the request to the module registered
// for its grant_type. A module checks its own parameters, does its work through the services it is given,
// and returns the token response; it throws DomainError with an OAuth code (invalid_grant, invalid_scope,
// invalid_request…) when it refuses. It never sees HTTP.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { RequestMeta } from '../audit.js';
import type { AuthenticatedClient } from '../authz/client-authentication.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { TokenIssuer, TokenResponse } from '../tokens/token-issuer.js';
import type { AuthorizationCodes } from '../oauth/authorization-codes.js';
import type { DeviceCodes } from '../oauth/device-codes.js';
import type { GrantTokens } from '../oauth/grant-tokens.js';
import type { ResourceRegistry } from '../oauth/resources.js';
import type { RefreshTokens } from '../sessions/refresh-tokens.js';
import type { SessionLifecycle } from '../sessions/session-lifecycle.js';
import type { ApiKeyUse } from '../api-keys/api-key-use.js';

/** The token request's form as parsed (RFC 6749 §3.2): a parameter sent twice arrives as an array. */
export type TokenForm = Readonly<Record<string, string | string[] | undefined>>;

/** What every grant may use. A new grant that needs another service adds it here and in services.ts. */
export interface GrantServices {
  /** Turns a session or a client into tokens (the only place claims are decided). */
  issuer: TokenIssuer;
  /** For audit rows and the grant's own statements. */
  db: PrismaClient;
  /** The authorization server's grants (src/domain/oauth/): codes, ID tokens, refresh tokens and their rotation. */
  oauth: {
    codes: AuthorizationCodes;
    /** The device authorization grant's codes (RFC 8628). */
    devices: DeviceCodes;
    idTokens: GrantTokens;
    refreshTokens: RefreshTokens;
    lifecycle: SessionLifecycle;
    /** The registered resources (RFC 8707) and Tessera's AUDIENCE. */
    resources: ResourceRegistry;
  };
  /** Verifies API keys for the token exchange (src/domain/api-keys/api-key-use.ts). */
  apiKeys: ApiKeyUse;
}

/** What a grant module receives. */
export interface GrantContext {
  /** Every parameter of the request body (grant_type included); read them with `param`. */
  form: TokenForm;
  /** The client, already authenticated: a confidential client, or a public one (method none) if allowed. */
  client: AuthenticatedClient;
  services: GrantServices;
  clock: Clock;
  /** Who is asking (address, user agent, request id), for audit rows and sessions. */
  meta: RequestMeta;
  /** The per-key rate limit of API keys, run once a key is known genuine (throws when over it). */
  admitApiKey?: (keyId: string) => Promise<void>;
}

/** What a grant module returns: the response body, and the one log line the route writes. */
export interface GrantResult {
  /** RFC 6749 §5.1: access_token, token_type, expires_in, and scope / refresh_token / id_token as they apply. */
  response: TokenResponse & { refresh_token?: string; id_token?: string; issued_token_type?: string };
  log: { event: string; message: string } & Record<string, unknown>;
}

export interface Grant {
  /** The grant_type value: RFC 6749's names, or an absolute URI for an extension grant. */
  readonly type: string;
  /** Whether a public client (no credential, PKCE instead) may use this grant; confidential clients always may. */
  readonly publicClients: boolean;
  handle(context: GrantContext): Promise<GrantResult>;
}

/** One parameter of the form: undefined when absent; invalid_request when sent more than once (RFC 6749 §3.2). */
export function param(form: TokenForm, name: string): string | undefined {
  const value = form[name];
  if (Array.isArray(value))
    throw new DomainError('invalid_request', { message: `The parameter ${name} must not be repeated.` });
  return value;
}
