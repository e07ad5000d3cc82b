// A session's life, one function each: start (whatever proved who the user is), refresh, end. New ways to sign
// in (an authorization code, a device code, an API key, a passkey) are a new StartMethod, not a new function;
// they all get the same session row, audit row and refresh token, and hand the same facts to the token issuer.
//
// A session has one live refresh token: the one for its current refresh_counter (refresh-tokens.ts). A refresh
// is the statement in refresh-rotation.ts; when it matches nothing, the row is read and refreshVerdict
// (refresh-verdict.ts) says why: a grace replay gets the current token again (the same one the winner got, so
// no second live token ever exists), reuse ends the session (committed, although the request fails).
// Ending is endSessions (session-end.ts), here in a transaction of its own.
//
// Refresh tokens from before v2 (43 characters) are no longer accepted: decision 0007.
import { randomUUID } from 'node:crypto';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { auditCtes, clipUserAgent, audit, type AuditEntry, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { ErrorCode } from '../../errors.js';
import { LOCKING_TX } from '../transactions.js';
import { isLegacyToken, type RefreshTokens } from './refresh-tokens.js';
import { readSession, rotateSession } from './refresh-rotation.js';
import { refreshVerdict, type RefreshSettings } from './refresh-verdict.js';
import { endSessions, type EndedSession, type SessionEnd } from './session-end.js';
import { sessionDeadline } from './session-state.js';
import { liveSql } from './session-state.js';
import { clientIsAt, type ClientAtVersion } from './client-version.js';
import { rolesOf, rolesSql } from './user-claims.js';
import { passkeyAmr, sessionAmr, storedAmr, type SecondFactor, type StepUp } from './assurance.js';

/**
 * How the user proved who they are. The coming grants add a kind here. `secondFactor`: the second step of the
 * sign-in (src/domain/mfa/), when the account has one; it goes into the session's amr (assurance.ts).
 */
export type StartMethod =
  /** A password; its hash is re-read under a lock, so a password changed meanwhile opens nothing. */
  | { kind: 'password'; verifiedHash: string; secondFactor?: SecondFactor }
  /** An identity provider (src/domain/federation/) vouched for the user. */
  | { kind: 'provider'; idp: string; secondFactor?: SecondFactor }
  /** A passkey (src/domain/passkeys/): synced (backed up) or bound to one device; whether it verified the user. */
  | { kind: 'passkey'; synced: boolean; userVerified: boolean }
  /**
   * The deployment's own login page (LOGIN_UI_URL) authenticated the user and said how (RFC 8176 amr), through a
   * client holding the authorization_ui scope (src/domain/oauth/ui-challenges.ts): Tessera takes its word.
   */
  | { kind: 'login_ui'; clientId: string; amr: string[] };

/** What a start or a refresh hands on: the session's facts for the token issuer, and the refresh token. */
export interface IssuedSession {
  userId: string;
  sessionId: string;
  /** When the user authenticated (the auth_time claim): the session's start. */
  sessionStartedAt: Date;
  amr: string[];
  /** The session's last step-up, when one was read (assurance.ts withStepUp: it counts for a while only). */
  stepUp?: StepUp;
  /** The identity provider the session started with; null: the password. */
  idp?: string | null;
  refreshToken: string;
  refreshExpiresAt: Date;
  /** A grace replay: the previous token presented again within the window, answered with the current one. */
  grace?: true;
  /**
   * The user's roles and email_verified, when the statement that issued this read them (a start, a refresh, a
   * code's or device code's redemption do; a grace replay and a step-up do not, and the token issuer reads them).
   */
  roles?: string[];
  emailVerified?: boolean;
  /** A grant to an OAuth client (src/domain/oauth/): what was granted, space-separated, and its audience. */
  scope?: string | null;
  audience?: string | null;
}

export type RotationFailure = 'invalid' | 'expired' | 'revoked' | 'reused' | 'credentials_changed';

/** The one mapping of a refresh failure to the catalog; the error handler turns the code into a response. */
const FAILURE_CODES = {
  invalid: 'refresh_token_invalid',
  expired: 'session_expired',
  revoked: 'session_revoked',
  reused: 'refresh_token_reused',
  credentials_changed: 'invalid_credentials',
} as const satisfies Record<RotationFailure, ErrorCode>;

/** A DomainError that also says which failure (for logs) and which session it concerned. */
/**
 * A password alone no longer starts a session for this account: a second factor was confirmed after the login
 * read it (SecondStep.afterPassword then asks for it).
 */
export class SecondFactorRequired extends Error {
  constructor() {
    super('the account has a second factor: the sign-in takes a second step');
  }
}

export class RotationError extends DomainError {
  override name = 'RotationError';
  constructor(
    readonly failure: RotationFailure,
    readonly sessionId?: string,
    message?: string,
  ) {
    super(FAILURE_CODES[failure], { detail: `refresh refused: ${failure}`, ...(message ? { message } : {}) });
  }
}

// The step-up and its audit row in one statement (the INSERT mirrors audit() in audit.ts, as the refresh CAS's).
const STEP_UP = `
WITH s AS (
  UPDATE sessions SET step_up_at = $3::timestamptz, step_up_amr = $4::text[], last_used_at = $3::timestamptz
  WHERE id = $1::uuid AND user_id = $2::uuid AND client_id IS NULL AND ${liveSql('sessions', '$3')}
  RETURNING id, user_id, created_at, idp, amr
), a AS (
  INSERT INTO audit_events (type, user_id, session_id, ip, user_agent, request_id, reason, created_at)
  SELECT 'step_up', user_id, id, $5, $6, $7, $8, $3::timestamptz FROM s
)
SELECT created_at, idp, amr FROM s`;

/** What the start statement writes. `verifiedHash`: the hash a password matched (null for other methods). */
interface NewSession {
  userId: string;
  sessionId: string;
  now: Date;
  expiresAt: Date;
  idp: string | null;
  amr: string[];
  verifiedHash: string | null;
  /**
   * For a password alone: SQL saying whether the account (`u.id`) has a second factor. The session starts only
   * if it has none, so a factor confirmed while the password was being checked is asked for, not skipped.
   */
  noSecondFactor: string | null;
}

/**
 * A session's start as one statement. `u` takes the user row FOR SHARE (under READ COMMITTED, a password change
 * or a disable in flight is waited for and its committed row is the one read; one that commits later waits for
 * this statement, and then ends the session it started); `s` inserts the session only when the account is not
 * disabled and, for a password, its hash is still the verified one; the audit row and its webhook deliveries are
 * audit()'s own SQL (auditCtes), written only with the session. What it returns says which outcome it was, and
 * carries the roles and email_verified for the access token.
 */
function startStatement(n: NewSession, meta: RequestMeta, entry: AuditEntry): Prisma.Sql {
  const hasSecondFactor = Prisma.raw(n.noSecondFactor ?? 'false');
  return Prisma.sql`
WITH u AS (
  SELECT id, password_hash, disabled_at IS NOT NULL AS disabled, email_verified_at IS NOT NULL AS email_verified
  FROM users WHERE id = ${n.userId}::uuid FOR SHARE
), s AS (
  INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, refresh_counter, rotated_at, user_agent,
                        ip, idp, amr)
  SELECT ${n.sessionId}::uuid, u.id, ${n.now}::timestamptz, ${n.now}::timestamptz, ${n.expiresAt}::timestamptz, 0,
         ${n.now}::timestamptz, ${clipUserAgent(meta.userAgent)}::text, ${meta.ip}::text, ${n.idp}::text,
         ${n.amr}::text[]
  FROM u WHERE NOT u.disabled AND (${n.verifiedHash}::text IS NULL OR u.password_hash = ${n.verifiedHash}::text)
    AND NOT ${hasSecondFactor}
  RETURNING id
), ${auditCtes(meta, n.now, entry, 's')}
SELECT u.password_hash IS NOT DISTINCT FROM ${n.verifiedHash}::text AS hash_matches, u.disabled,
  ${hasSecondFactor} AS has_second_factor,
  EXISTS (SELECT 1 FROM s) AS started, ${Prisma.raw(rolesSql('u.id'))} AS roles, u.email_verified
FROM u`;
}

const LEGACY_REFUSED = 'Refresh tokens of this format are no longer accepted: log in again.';

/** Told, inside the transaction that ends a session for reuse, which session ended (the email notice). */
export type ReuseListener = (
  tx: Pick<Prisma.TransactionClient, '$executeRaw' | '$queryRaw'>,
  ended: EndedSession,
  meta: RequestMeta,
  now: Date,
) => Promise<void>;

export class SessionLifecycle {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly tokens: RefreshTokens,
    private readonly settings: RefreshSettings,
    private readonly clock: Clock,
    /** Whether the user `u.id` has a second factor, as SQL: hasFactorSql of src/domain/mfa/second-step.ts. */
    private readonly hasSecondFactorSql: string,
    private readonly onReuse?: ReuseListener,
  ) {}

  /**
   * Starts a session for a user who just proved who they are, in ONE statement (startStatement): the user row
   * taken under a share lock, the session, its audit row and webhook deliveries, and the roles and
   * email_verified the access token states. A disabled account opens no session (account_disabled), and for a
   * password, one changed since it was checked opens none either (RotationError 'credentials_changed').
   */
  async start(userId: string, method: StartMethod, meta: RequestMeta): Promise<IssuedSession> {
    const now = this.clock.now();
    const expiresAt = sessionDeadline(this.settings, now, now);
    const sessionId = randomUUID();
    const idp = method.kind === 'provider' ? method.idp : null;
    const amr =
      method.kind === 'passkey'
        ? passkeyAmr(method.synced, method.userVerified)
        : method.kind === 'login_ui'
          ? [...method.amr]
          : sessionAmr(idp, method.secondFactor);
    const entry: AuditEntry = idp
      ? { type: 'federated_login', userId, sessionId, reason: `idp=${idp} amr=${amr.join(',')}` }
      : {
          type: 'login_ok',
          userId,
          sessionId,
          ...(method.kind === 'login_ui'
            ? { reason: `login_ui=${method.clientId} amr=${amr.join(',')}` }
            : method.kind !== 'password' || method.secondFactor
              ? { reason: `amr=${amr.join(',')}` }
              : {}),
        };
    const statement = startStatement(
      {
        userId,
        sessionId,
        now,
        expiresAt,
        idp,
        amr,
        verifiedHash: method.kind === 'password' ? method.verifiedHash : null,
        noSecondFactor: method.kind === 'password' && !method.secondFactor ? this.hasSecondFactorSql : null,
      },
      meta,
      entry,
    );
    const [row] = await this.sql.query<{
      hash_matches: boolean | null;
      disabled: boolean;
      started: boolean;
      roles: string | null;
      email_verified: boolean;
      has_second_factor: boolean;
    }>(
      statement.text,
      statement.values.map((v) => (v instanceof Date ? v.toISOString() : v)),
    );
    // No such user, or (a password) its hash is no longer the one the password matched: the same refusal.
    if (!row || (method.kind === 'password' && !row.hash_matches)) throw new RotationError('credentials_changed');
    if (row.disabled) throw new DomainError('account_disabled');
    if (!row.started && row.has_second_factor) throw new SecondFactorRequired();
    if (!row.started) throw new Error('session start: the statement inserted no session for a live account');
    const refreshToken = this.tokens.mint(sessionId, 0n);
    return {
      userId,
      sessionId,
      sessionStartedAt: now,
      amr,
      idp,
      refreshToken,
      refreshExpiresAt: expiresAt,
      roles: rolesOf(row.roles),
      emailVerified: row.email_verified,
    };
  }

  /** Exchanges a refresh token for its successor; throws RotationError (after committing any revocation). */
  /**
   * `client`: the OAuth client presenting it (src/domain/oauth/), at the version its authentication saw; a
   * token is refreshed only by the client whose grant it is, while that client is unchanged, and Tessera's own
   * refresh cookie (null) refreshes no client's grant.
   */
  async refresh(presented: string, meta: RequestMeta, client: ClientAtVersion | null = null): Promise<IssuedSession> {
    const clientId = client?.id ?? null;
    if (isLegacyToken(presented)) throw new RotationError('invalid', undefined, LEGACY_REFUSED);
    const claims = this.tokens.verify(presented);
    if (!claims) throw new RotationError('invalid');
    const { sessionId, counter } = claims;
    const now = this.clock.now();
    const won = await rotateSession(this.sql, sessionId, counter, now, this.settings, meta, client);
    if (won) {
      return {
        userId: won.userId,
        sessionId,
        sessionStartedAt: won.createdAt,
        amr: storedAmr(won.amr, won.idp),
        stepUp: won.stepUp,
        idp: won.idp,
        refreshToken: this.tokens.mint(sessionId, won.counter),
        refreshExpiresAt: won.expiresAt,
        roles: won.roles,
        emailVerified: won.emailVerified,
        scope: won.scope,
        audience: won.audience,
      };
    }
    // The statement matched nothing: read the row and ask why.
    const s = await readSession(this.sql, sessionId);
    const verdict = refreshVerdict(s, counter, now, this.settings);
    // Another client's token (or a browser's at a client, or the reverse) is not this caller's to use or to burn.
    if (!s || s.counter === null || s.clientId !== clientId) throw new RotationError('invalid');
    switch (verdict) {
      case 'grace':
        // A client changed since it was authenticated gets nothing here (the token endpoint retries it fresh).
        if (client && !(await clientIsAt(this.sql, client))) throw new RotationError('invalid', sessionId);
        await audit(this.db, meta, now, { type: 'refresh', userId: s.userId, sessionId, reason: 'grace' });
        return {
          userId: s.userId,
          sessionId,
          sessionStartedAt: s.createdAt,
          amr: storedAmr(s.amr, s.idp),
          stepUp: s.stepUp,
          idp: s.idp,
          refreshToken: this.tokens.mint(sessionId, s.counter),
          refreshExpiresAt: s.expiresAt,
          grace: true,
          scope: s.scope,
          audience: s.audience,
        };
      case 'reuse':
        throw new RotationError((await this.endForReuse(sessionId, meta, now)) ? 'reused' : 'revoked', sessionId);
      case 'expired':
      case 'revoked':
        throw new RotationError(verdict, sessionId);
      default:
        // 'invalid', or 'rotate' for a row that changed between the statement and the read: refused as before.
        throw new RotationError('invalid', sessionId);
    }
  }

  /** Reuse of an old token: the session ends, committed. Whoever ends it first reports the reuse. */
  private async endForReuse(sessionId: string, meta: RequestMeta, now: Date): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      const [row] = await endSessions(
        tx,
        { which: { ids: [sessionId] }, reason: 'refresh_token_reused', by: { kind: 'system' } },
        meta,
        now,
      );
      if (row && this.onReuse) await this.onReuse(tx, row, meta, now);
      return !!row;
    }, LOCKING_TX);
  }

  /**
   * A step-up (src/domain/mfa/step-up.ts): the user of a live session of Tessera's own (not an OAuth client's)
   * proved a second factor now. The session remembers when and how, in one statement with its audit row; its
   * tokens state it while it is recent (assurance.ts withStepUp). Throws session_revoked for a session that is
   * no longer live. Returns the session's facts for the token issuer (no new refresh token: the cookie stays).
   */
  async stepUp(
    userId: string,
    sessionId: string,
    methods: string[],
    meta: RequestMeta,
  ): Promise<Omit<IssuedSession, 'refreshToken' | 'refreshExpiresAt'>> {
    const now = this.clock.now();
    const [row] = await this.sql.query<{ created_at: Date; idp: string | null; amr: string[] | null }>(STEP_UP, [
      sessionId,
      userId,
      now.toISOString(),
      methods,
      meta.ip || null,
      clipUserAgent(meta.userAgent),
      meta.requestId,
      `amr=${methods.join(',')}`,
    ]);
    if (!row) throw new DomainError('session_revoked', { detail: 'step-up for a session that is not live' });
    return {
      userId,
      sessionId,
      sessionStartedAt: row.created_at,
      amr: storedAmr(row.amr, row.idp),
      idp: row.idp,
      stepUp: { at: now, amr: methods },
    };
  }

  /** The methods a session's sign-in proved (its stored amr), or null for no such session of this user. */
  async signInAmr(userId: string, sessionId: string): Promise<string[] | null> {
    const row = await this.db.session.findFirst({ where: { id: sessionId, userId }, select: { amr: true, idp: true } });
    return row ? storedAmr(row.amr, row.idp) : null;
  }

  /** Ends sessions in a transaction of its own; returns the ones this call ended. */
  async end(end: SessionEnd, meta: RequestMeta): Promise<EndedSession[]> {
    const now = this.clock.now();
    return this.db.$transaction((tx) => endSessions(tx, end, meta, now), LOCKING_TX);
  }

  /**
   * The scope and audience of the grant a refresh token stands for, read without rotating anything: null unless
   * the token's MAC checks out, it is its session's current token, and the session is live and this client's. A
   * grant's scope and audience never change after it is made, so a refresh that asks for more than them
   * (refresh-token.ts) is refused before its token moves.
   */
  async grantOf(
    presented: string,
    client: ClientAtVersion,
  ): Promise<{ scope: string | null; audience: string | null } | null> {
    if (isLegacyToken(presented)) return null;
    const claims = this.tokens.verify(presented);
    if (!claims) return null;
    const s = await readSession(this.sql, claims.sessionId);
    // Only for the current token of a live grant: an old token, or one of an ended grant, goes to the rotation,
    // whose verdict (reuse, grace, revoked, expired) it must get whatever it asks for.
    const now = this.clock.now();
    if (!s || s.clientId !== client.id || s.revokedAt || s.expiresAt <= now || s.counter !== claims.counter)
      return null;
    return { scope: s.scope, audience: s.audience };
  }

  /** The session a refresh token belongs to, whatever its counter, if its MAC checks out. */
  sessionOf(token: string): { sessionId: string } | null {
    const claims = this.tokens.verify(token);
    return claims ? { sessionId: claims.sessionId } : null;
  }
}
