// The one step that turns a session (just started, by any method, or just refreshed) or an authenticated
// service client into the tokens a client receives. It owns which claims go in and where their values come
// from, for every grant: routes and grant modules hand it a session or a client and send back what it
// returns (routes only set or clear the refresh cookie). The claims it may write are the contract's
// (CLAIM_TYPES in @tessera/verify/contract): a claim that is not there does not type-check here.
//
// Where each value comes from:
//   sub, sid, auth_time  the session (its user, its id, when it started)
//   roles, email_verified  read by the statement that produced the session when it read them (the refresh
//                        CAS does, in its one statement); otherwise read here, in one statement
//   amr, acr, idp        how the session started (src/domain/sessions/assurance.ts, the one rule): a password
//                        (amr ["pwd"]) or an identity provider (idp, and no amr of its own: RFC 8176 values only,
//                        and Tessera did not see how the provider checked the user), plus a second factor
//                        ("otp", "mfa"); acr "1" or "2" from the amr. A refresh keeps the session's amr.
//                        A step-up (RFC 9470) adds its methods and moves auth_time, for STEP_UP_MAX_AGE_SECONDS
//   (API keys)           a user's key: sub the user, no sid, scope and roles the key's scopes the user still
//                        has; a service client's key: a client token, as client_credentials gives
//   client_id            Tessera's CLIENT_ID for user tokens; the client itself for client_credentials and
//                        for an OAuth client's grant (src/domain/grants/authorization-code.ts, refresh-token.ts)
//   scope, aud           a client's granted scopes and configured audience (else Tessera's AUDIENCE); for an
//                        OAuth grant, what the user consented to and the resource asked for (RFC 8707).
//                        `scope` on a user's token marks it as an OAuth client's: Tessera's own routes refuse it
// Next: `cnf` (a bound key) from the grant's proof.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ACCESS_TOKEN_TYPE, type TesseraClaims } from '@tessera/verify/contract';
import type { Sql } from '../../db/sql.js';
import { epochSeconds, type Clock } from '../clock.js';
import type { KeyStore } from '../keys/keys.js';
import { acrOf, storedAmr, withStepUp, type StepUp } from '../sessions/assurance.js';
import { rolesOf, rolesSql } from '../sessions/user-claims.js';

export interface IssuerSettings {
  issuer: string;
  /** Tessera's AUDIENCE: the `aud` of user tokens, and of client tokens whose client names none. */
  audience: string[];
  /** Tessera's CLIENT_ID: the `client_id` of user tokens. */
  clientId: string;
  ttlSeconds: number;
  /** STEP_UP_MAX_AGE_SECONDS: how long a session's step-up raises its tokens (assurance.ts withStepUp). */
  stepUpMaxAgeSeconds: number;
}

/** A session as its start or refresh left it: what its tokens are made from. */
export interface SessionGrant {
  userId: string;
  sessionId: string;
  sessionStartedAt: Date;
  /** The identity provider the session started with; absent or null: the password. */
  idp?: string | null | undefined;
  /** RFC 8176 methods of the session's sign-in (src/domain/sessions/assurance.ts); absent: what idp implies. */
  amr?: string[] | null | undefined;
  /** The session's last step-up: within STEP_UP_MAX_AGE_SECONDS it adds its methods and moves auth_time. */
  stepUp?: StepUp | undefined;
  /** The user's roles, when the statement that produced the session read them. */
  roles?: string[] | undefined;
  /** Whether the address is verified, when the statement that produced the session read it. */
  emailVerified?: boolean | undefined;
}

/** A client_credentials subject: the client and what it was granted. */
export interface ClientGrant {
  id: string;
  /** The client's configured audience; null: Tessera's AUDIENCE. */
  audience: string[] | null;
  scopes: string[];
}

/** A user's grant to an OAuth client: its session, what was granted, how the user signed in. */
export interface OAuthGrant {
  userId: string;
  clientId: string;
  /** The grant's own session (sid: introspection, revocation and disconnecting the app follow it). */
  sessionId: string;
  scope: string[];
  audience: string[];
  authTime: Date;
  idp: string | null;
  /** RFC 8176 methods of the sign-in that approved the grant; absent or null: what idp implies. */
  amr?: string[] | null | undefined;
  roles: string[];
}

/**
 * An API key exchanged for a token (src/domain/grants/token-exchange.ts): a user's personal key, or a service
 * client's. Its scopes are the key's that its owner still has.
 */
export type ApiKeyGrant =
  | { kind: 'user'; userId: string; scopes: string[] }
  | { kind: 'client'; clientId: string; audience: string[] | null; scopes: string[] };

/** RFC 6749 §5.1's successful response, as every grant answers it. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
}

/** The user's facts a token states, read at issue time. */
export interface UserFacts {
  roles: string[];
  emailVerified: boolean;
}

/**
 * How the user authenticated, for access and ID tokens and introspection alike: amr holds RFC 8176's registered
 * values only, so a sign-in through a provider (src/domain/federation/) has none of its own (Tessera did not see
 * how the provider checked the user) and says where it came from in idp instead; acr is the level of the amr.
 * `amr`: the session's stored methods; absent or null: a session from before they were kept.
 */
export const authMethod = (
  idp: string | null | undefined,
  amr?: string[] | null,
): { amr?: string[]; acr: string; idp?: string } => {
  const methods = storedAmr(amr, idp);
  return { ...(methods.length > 0 ? { amr: methods } : {}), acr: acrOf(methods), ...(idp ? { idp } : {}) };
};

/** The claims of an OAuth client's access token that introspection reads back (src/domain/oauth/grant-tokens.ts). */
export interface GrantClaims {
  iss: string;
  sub: string;
  sid: string;
  client_id: string;
  scope: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  auth_time?: number;
  amr?: string[];
  acr?: string;
  idp?: string;
}

const audienceClaim = (aud: string[]) => (aud.length === 1 ? aud[0]! : aud);

/** The claims of a user's access token. Pure: the issuer's rules, for the contract's unit test too. */
export function sessionClaims(
  settings: IssuerSettings,
  session: SessionGrant,
  facts: UserFacts,
  now: number,
  jti: string,
): TesseraClaims {
  const level = withStepUp(
    { amr: storedAmr(session.amr, session.idp), authTime: session.sessionStartedAt },
    session.stepUp,
    new Date(now * 1000),
    settings.stepUpMaxAgeSeconds,
  );
  return {
    iss: settings.issuer,
    sub: session.userId,
    aud: audienceClaim(settings.audience),
    iat: now,
    exp: now + settings.ttlSeconds,
    jti,
    client_id: settings.clientId,
    sid: session.sessionId,
    auth_time: epochSeconds(level.authTime),
    ...(facts.roles.length > 0 ? { roles: facts.roles } : {}),
    email_verified: facts.emailVerified,
    ...authMethod(session.idp, level.amr),
  };
}

/** The claims of a client_credentials token (RFC 9068 profile): no session, `sub` = `client_id`. */
export function clientClaims(settings: IssuerSettings, client: ClientGrant, now: number, jti: string): TesseraClaims {
  return {
    iss: settings.issuer,
    sub: client.id,
    aud: audienceClaim(client.audience ?? settings.audience),
    iat: now,
    exp: now + settings.ttlSeconds,
    jti,
    client_id: client.id,
    scope: client.scopes.join(' '),
  };
}

/** The claims of an OAuth client's access token for a user (RFC 9068): the grant's session, scope and audience. */
function grantClaims(settings: IssuerSettings, grant: OAuthGrant, now: number, jti: string): TesseraClaims {
  return {
    iss: settings.issuer,
    sub: grant.userId,
    aud: audienceClaim(grant.audience.length > 0 ? grant.audience : settings.audience),
    iat: now,
    exp: now + settings.ttlSeconds,
    jti,
    client_id: grant.clientId,
    sid: grant.sessionId,
    scope: grant.scope.join(' '),
    auth_time: epochSeconds(grant.authTime),
    ...(grant.roles.length > 0 ? { roles: grant.roles } : {}),
    ...authMethod(grant.idp, grant.amr),
  };
}

/**
 * The claims of a user's API-key token: no session (so Tessera's own Bearer routes refuse it), `client_id`
 * Tessera's CLIENT_ID, and the key's scopes, which for a personal key are roles of the user, in both `scope`
 * and `roles` (a resource server may check either). A service client's key gives a client token (clientClaims).
 */
function apiKeyUserClaims(
  settings: IssuerSettings,
  key: { userId: string; scopes: string[] },
  now: number,
  jti: string,
): TesseraClaims {
  return {
    iss: settings.issuer,
    sub: key.userId,
    aud: audienceClaim(settings.audience),
    iat: now,
    exp: now + settings.ttlSeconds,
    jti,
    client_id: settings.clientId,
    scope: key.scopes.join(' '),
    ...(key.scopes.length > 0 ? { roles: key.scopes } : {}),
  };
}

// Roles and the verified flag of a user, read the way the refresh CAS reads them (same subselects).
const USER_FACTS = `
SELECT ${rolesSql('u.id')} AS roles,
       u.email_verified_at IS NOT NULL AS email_verified
FROM users u WHERE u.id = $1::uuid`;

export class TokenIssuer {
  constructor(
    private readonly keys: KeyStore,
    private readonly sql: Sql,
    private readonly settings: IssuerSettings,
    private readonly clock: Clock,
  ) {}

  get ttlSeconds(): number {
    return this.settings.ttlSeconds;
  }

  /** The access token of a session just started or refreshed (its refresh token travels in the cookie). */
  async forSession(session: SessionGrant): Promise<TokenResponse> {
    const facts =
      session.roles !== undefined && session.emailVerified !== undefined
        ? { roles: session.roles, emailVerified: session.emailVerified }
        : await this.userFacts(session.userId);
    const now = epochSeconds(this.clock.now());
    const token = await this.sign(sessionClaims(this.settings, session, facts, now, randomUUID()));
    return { access_token: token, token_type: 'Bearer', expires_in: this.settings.ttlSeconds };
  }

  /** The access token of a service client (client_credentials): no session, nothing to refresh. */
  async forClient(client: ClientGrant): Promise<TokenResponse & { scope: string }> {
    const now = epochSeconds(this.clock.now());
    const token = await this.sign(clientClaims(this.settings, client, now, randomUUID()));
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: this.settings.ttlSeconds,
      scope: client.scopes.join(' '),
    };
  }

  /** The access token of a user's grant to an OAuth client (authorization_code, refresh_token). */
  async forGrant(grant: OAuthGrant): Promise<TokenResponse & { scope: string }> {
    const now = epochSeconds(this.clock.now());
    const token = await this.sign(grantClaims(this.settings, grant, now, randomUUID()));
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: this.settings.ttlSeconds,
      scope: grant.scope.join(' '),
    };
  }

  /** The access token an API key is exchanged for (RFC 8693): no refresh token, the key is presented again. */
  async forApiKey(key: ApiKeyGrant): Promise<TokenResponse & { scope: string }> {
    if (key.kind === 'client') return this.forClient({ id: key.clientId, audience: key.audience, scopes: key.scopes });
    const now = epochSeconds(this.clock.now());
    const token = await this.sign(apiKeyUserClaims(this.settings, key, now, randomUUID()));
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: this.settings.ttlSeconds,
      scope: key.scopes.join(' '),
    };
  }

  private async userFacts(userId: string): Promise<UserFacts> {
    const [row] = await this.sql.query<{ roles: string | null; email_verified: boolean }>(USER_FACTS, [userId]);
    return { roles: rolesOf(row?.roles ?? null), emailVerified: row?.email_verified ?? false };
  }

  private async sign(claims: TesseraClaims): Promise<string> {
    const { kid, alg, privateKey } = this.keys.signing;
    return new SignJWT({ ...claims }).setProtectedHeader({ alg, typ: ACCESS_TOKEN_TYPE, kid }).sign(privateKey);
  }
}
