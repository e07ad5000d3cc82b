// Sessions and their refresh tokens: start, rotate, end.
//
// A session has one live refresh token: the one for its current refresh_counter (refresh-tokens.ts). A
// refresh is a compare-and-swap on the session row: one UPDATE that moves the counter only if it still
// equals the presented one and the session may still be refreshed, with the audit row in the same
// statement. One round trip, no interactive transaction, no lock held across round trips, no row per
// refresh. Concurrent refreshes of one token, on one instance or many: exactly one UPDATE matches.
//
// Only when the CAS matches nothing does the slow path read the session and say why:
//   - unknown session, or a counter ahead of it        → invalid
//   - revoked / past a limit                           → revoked / expired
//   - the counter just before the current one, moved less than REFRESH_REUSE_GRACE_SECONDS ago
//     (two tabs refreshing at once)                    → the current token again: the same one the winner
//                                                        got, so no second live token ever exists
//   - anything older                                   → reuse, taken as theft: the session ends (committed,
//                                                        although the request fails)
// Tokens from before v2 (43 characters) take the old path in legacy-refresh.ts, which moves their session
// onto v2 at its next refresh.
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { audit, clipUserAgent, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { LegacyRefresh } from './legacy-refresh.js';
import { isLegacyToken, type RefreshTokens } from './refresh-tokens.js';
import { endSessions, isLive, liveSql, refreshCutoffs, sessionDeadline, type SessionLimits } from './session-state.js';
import { LOCKING_TX } from '../transactions.js';
import { DomainError } from '../domain-error.js';
import type { ErrorCode } from '../../errors.js';
import type { ReuseListener } from '../recovery/security-notices.js';

export interface RotationSettings extends SessionLimits {
  reuseGraceSeconds: number;
}

/** What a successful login or refresh hands back to the HTTP layer. */
export interface IssuedSession {
  userId: string;
  sessionId: string;
  sessionStartedAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
  /** A grace replay: the previous token presented again within the window, answered with the current one. */
  grace?: true;
  /** The user's roles, when the statement that issued this read them (the refresh CAS does). */
  roles?: string[];
  /** Read in the refresh statement itself (the email_verified claim); unset where it was not read. */
  emailVerified?: boolean;
  /** The identity provider the session started with (src/domain/federation/); absent: the password. */
  idp?: string | null;
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
export class RotationError extends DomainError {
  override name = 'RotationError';
  constructor(
    readonly failure: RotationFailure,
    readonly sessionId?: string,
  ) {
    super(FAILURE_CODES[failure], { detail: `refresh refused: ${failure}` });
  }
}

export type RotationOutcome = IssuedSession | { failure: RotationFailure; sessionId?: string };

// The hot path. The INSERT mirrors audit() in audit.ts (same columns), so the audit row commits with the CAS.
const CAS = `
WITH s AS (
  UPDATE sessions
  SET refresh_counter = refresh_counter + 1, rotated_at = $3::timestamptz, last_used_at = $3::timestamptz,
      expires_at = LEAST($4::timestamptz, created_at + $5::int * interval '1 second')
  WHERE id = $1::uuid AND refresh_counter = $2::bigint
    AND ${liveSql('sessions', '$3')}
    AND last_used_at > $6::timestamptz AND created_at > $7::timestamptz
  RETURNING id, user_id, created_at, expires_at, refresh_counter, idp
), a AS (
  INSERT INTO audit_events (type, user_id, session_id, ip, user_agent, request_id, created_at)
  SELECT 'refresh', user_id, id, $8, $9, $10, $3::timestamptz FROM s
)
SELECT user_id::text AS user_id, created_at, expires_at, refresh_counter::text AS counter,
  (SELECT string_agg(r.role, ' ' ORDER BY r.role) FROM user_roles r WHERE r.user_id = s.user_id) AS roles,
  (SELECT u.email_verified_at IS NOT NULL FROM users u WHERE u.id = s.user_id) AS email_verified,
  idp
FROM s`;

const SESSION = `
SELECT user_id::text AS user_id, created_at, last_used_at, expires_at, revoked_at,
       refresh_counter::text AS counter, rotated_at, idp
FROM sessions WHERE id = $1::uuid`;

interface SessionRow {
  user_id: string;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  counter: string | null;
  rotated_at: Date | null;
  idp: string | null;
}

export class RefreshRotation {
  /** Tokens from before v2 (rollout only). */
  readonly legacy: LegacyRefresh;
  /** Told, inside the revocation's transaction, when reuse ends a session (the email notice). */
  private reuseListener: ReuseListener | undefined;

  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly tokens: RefreshTokens,
    private readonly settings: RotationSettings,
    private readonly clock: Clock,
  ) {
    this.legacy = new LegacyRefresh(db, sql, tokens, settings, clock);
  }

  /**
   * Starts a new session for a user who just proved who they are with the password whose hash is
   * `verifiedHash`. The hash is re-read under a share lock: if the password changed since it was checked,
   * no session starts (a password change ends every other session, including one a login with the old
   * password was about to create). Throws RotationError('credentials_changed') then.
   */
  async start(userId: string, meta: RequestMeta, verifiedHash: string): Promise<IssuedSession> {
    return this.open(userId, meta, { verifiedHash });
  }

  /**
   * Starts a new session for a user an identity provider just vouched for (src/domain/federation/): no
   * password is involved, so none is compared. The session remembers the provider (idp in its tokens).
   */
  async startFederated(userId: string, meta: RequestMeta, idp: string): Promise<IssuedSession> {
    return this.open(userId, meta, { idp });
  }

  private async open(
    userId: string,
    meta: RequestMeta,
    proof: { verifiedHash: string } | { idp: string },
  ): Promise<IssuedSession> {
    const now = this.clock.now();
    const expiresAt = sessionDeadline(this.settings, now, now);
    const sessionId = randomUUID();
    const idp = 'idp' in proof ? proof.idp : null;
    await this.db.$transaction(async (tx) => {
      const [current] = await tx.$queryRaw<
        { password_hash: string | null; disabled: boolean }[]
      >`SELECT password_hash, disabled_at IS NOT NULL AS disabled FROM users WHERE id = ${userId}::uuid FOR SHARE`;
      if (!current || ('verifiedHash' in proof && current.password_hash !== proof.verifiedHash))
        throw new RotationError('credentials_changed');
      // A disabled account opens no session (src/domain/authz/account-admin.ts), whichever way the user proved who they are.
      if (current.disabled) throw new DomainError('account_disabled');
      await tx.session.create({
        data: {
          id: sessionId,
          userId,
          createdAt: now,
          lastUsedAt: now,
          expiresAt,
          refreshCounter: 0n,
          rotatedAt: now,
          userAgent: clipUserAgent(meta.userAgent),
          ip: meta.ip,
          idp,
        },
      });
      await audit(
        tx,
        meta,
        now,
        idp
          ? { type: 'federated_login', userId, sessionId, reason: `idp=${idp}` }
          : { type: 'login_ok', userId, sessionId },
      );
    }, LOCKING_TX);
    const refreshToken = this.tokens.mint(sessionId, 0n);
    return { userId, sessionId, sessionStartedAt: now, refreshToken, refreshExpiresAt: expiresAt, idp };
  }

  /** Exchanges a refresh token for its successor; throws RotationError (after committing any revocation). */
  async rotate(presented: string, meta: RequestMeta): Promise<IssuedSession> {
    const outcome = isLegacyToken(presented)
      ? await this.legacy.rotate(presented, meta)
      : await this.rotateV2(presented, meta);
    if ('failure' in outcome) throw new RotationError(outcome.failure, outcome.sessionId);
    return outcome;
  }

  private async rotateV2(presented: string, meta: RequestMeta): Promise<RotationOutcome> {
    const claims = this.tokens.verify(presented);
    if (!claims) return { failure: 'invalid' };
    const { sessionId, counter } = claims;
    const now = this.clock.now();
    const { lastUsedAfter, createdAfter } = refreshCutoffs(this.settings, now);
    const until = new Date(
      now.getTime() + Math.min(this.settings.refreshTokenTtlSeconds, this.settings.sessionIdleSeconds) * 1000,
    );
    const [won] = await this.sql.query<{
      user_id: string;
      created_at: Date;
      expires_at: Date;
      counter: string;
      roles: string | null;
      email_verified: boolean;
      idp: string | null;
    }>(CAS, [
      sessionId,
      counter.toString(),
      now.toISOString(),
      until.toISOString(),
      this.settings.sessionMaxAgeSeconds,
      lastUsedAfter.toISOString(),
      createdAfter.toISOString(),
      meta.ip,
      clipUserAgent(meta.userAgent),
      meta.requestId,
    ]);
    if (won) {
      return {
        userId: won.user_id,
        sessionId,
        sessionStartedAt: won.created_at,
        refreshToken: this.tokens.mint(sessionId, BigInt(won.counter)),
        refreshExpiresAt: won.expires_at,
        idp: won.idp,
        roles: won.roles ? won.roles.split(' ') : [],
        emailVerified: won.email_verified,
      };
    }
    return this.afterMiss(sessionId, counter, now, meta);
  }

  /** The CAS matched nothing: find out why, and answer a grace replay. */
  private async afterMiss(
    sessionId: string,
    presented: bigint,
    now: Date,
    meta: RequestMeta,
  ): Promise<RotationOutcome> {
    const [s] = await this.sql.query<SessionRow>(SESSION, [sessionId]);
    if (!s || s.counter === null) return { failure: 'invalid' };
    if (s.revoked_at) return { failure: 'revoked', sessionId };
    if (
      !isLive({ revokedAt: null, expiresAt: s.expires_at }, now) ||
      sessionDeadline(this.settings, s.created_at, s.last_used_at) <= now
    ) {
      return { failure: 'expired', sessionId };
    }
    const current = BigInt(s.counter);
    // A counter ahead of the session was never issued (and an equal one would have matched).
    if (presented >= current) return { failure: 'invalid', sessionId };
    if (presented === current - 1n && this.inGrace(s.rotated_at, now)) {
      await audit(this.db, meta, now, { type: 'refresh', userId: s.user_id, sessionId, reason: 'grace' });
      return {
        userId: s.user_id,
        sessionId,
        sessionStartedAt: s.created_at,
        refreshToken: this.tokens.mint(sessionId, current),
        refreshExpiresAt: s.expires_at,
        grace: true,
        idp: s.idp,
      };
    }
    return this.reused(sessionId, meta, now);
  }

  private inGrace(rotatedAt: Date | null, now: Date): boolean {
    const graceMs = this.settings.reuseGraceSeconds * 1000;
    return graceMs > 0 && rotatedAt !== null && now.getTime() - rotatedAt.getTime() < graceMs;
  }

  /** Sets who is told when reuse ends a session (src/domain/recovery/security-notices.ts). */
  onReuse(listener: ReuseListener): void {
    this.reuseListener = listener;
  }

  /** Reuse of an old token: the session ends, committed. Whoever ends it first reports the reuse. */
  private async reused(sessionId: string, meta: RequestMeta, now: Date): Promise<RotationOutcome> {
    const ended = await this.db.$transaction(async (tx) => {
      const [row] = await endSessions(tx, { ids: [sessionId] }, now, 'refresh_token_reused');
      if (row) await audit(tx, meta, now, { type: 'refresh_reuse_detected', userId: row.userId, sessionId });
      if (row && this.reuseListener) await this.reuseListener(tx, row, meta, now);
      return !!row;
    }, LOCKING_TX);
    return { failure: ended ? 'reused' : 'revoked', sessionId };
  }

  /** The session a refresh token belongs to, whatever its counter, if its MAC (or legacy hash) checks out. */
  async sessionOf(token: string): Promise<{ sessionId: string } | null> {
    if (isLegacyToken(token)) return this.legacy.sessionOf(token);
    const claims = this.tokens.verify(token);
    return claims ? { sessionId: claims.sessionId } : null;
  }

  /** Ends the session a refresh token belongs to. Unknown, malformed or already-ended: nothing to do. */
  async logout(presented: string, meta: RequestMeta): Promise<void> {
    const owner = await this.sessionOf(presented);
    if (!owner) return;
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      const [row] = await endSessions(tx, { ids: [owner.sessionId] }, now, 'logout');
      if (row) await audit(tx, meta, now, { type: 'logout', userId: row.userId, sessionId: row.id });
    }, LOCKING_TX);
  }

  /** Ends every live session of a user. Returns how many were ended. */
  async logoutAll(userId: string, meta: RequestMeta, fromSessionId?: string): Promise<number> {
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      const ended = await endSessions(tx, { userId }, now, 'logout_all');
      await audit(tx, meta, now, {
        type: 'logout_all',
        userId,
        sessionId: fromSessionId ?? null,
        reason: `${ended.length} sessions`,
      });
      return ended.length;
    }, LOCKING_TX);
  }
}
