// Refresh tokens from before v2 (43 random characters, a row per token in refresh_tokens, found by SHA-256),
// for the rollout only: a deployed service must not log its users out. Such a token is accepted once more:
// its session moves onto v2 (counter 1), every legacy row of the session is spent, and the answer is a v2
// token. The spent rows stay until they expire (the purge deletes them), so presenting an old legacy token
// is still reuse and ends the session, and a legacy token presented by a second tab within the grace window
// gets the same v2 token as the first. No legacy row is ever written again.
//
// Delete this file, and drop refresh_tokens, once REFRESH_TOKEN_TTL_SECONDS has passed after the upgrade
// (see CHANGELOG, "Upgrading").
import { createHash } from 'node:crypto';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import type { RefreshTokens } from './refresh-tokens.js';
import type { IssuedSession, RotationFailure, RotationSettings } from './refresh-rotation.js';
import { endSessions, isLive, liveSql, sessionDeadline } from './session-state.js';
import { LOCKING_TX } from '../transactions.js';

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

interface Found {
  id: string;
  spent_at: Date | null;
  expires_at: Date;
  session_id: string;
  user_id: string;
  created_at: Date;
  last_used_at: Date;
  session_expires_at: Date;
  revoked_at: Date | null;
  counter: string | null;
  rotated_at: Date | null;
}

export class LegacyRefresh {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly tokens: RefreshTokens,
    private readonly settings: RotationSettings,
    private readonly clock: Clock,
  ) {}

  async rotate(
    presented: string,
    meta: RequestMeta,
  ): Promise<IssuedSession | { failure: RotationFailure; sessionId?: string }> {
    const now = this.clock.now();
    const tokenHash = hashRefreshToken(presented);
    return this.db.$transaction(async (tx) => {
      const [locked] = await tx.$queryRaw<{ id: string }[]>`
        SELECT r.id::text AS id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
        WHERE r.token_hash = ${tokenHash} FOR UPDATE OF s`;
      if (!locked) return { failure: 'invalid' as const };
      // Read again under the lock: the statement above saw the token row as it was before a concurrent
      // refresh (only the session row is re-read after waiting for its lock).
      const [r] = await tx.$queryRaw<Found[]>`
        SELECT r.id::text AS id, r.spent_at, r.expires_at, s.id::text AS session_id, s.user_id::text AS user_id,
               s.created_at, s.last_used_at, s.expires_at AS session_expires_at, s.revoked_at,
               s.refresh_counter::text AS counter, s.rotated_at
        FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
        WHERE r.id = ${locked.id}::uuid`;
      if (!r) return { failure: 'invalid' as const };
      const sessionId = r.session_id;
      if (r.revoked_at) return { failure: 'revoked' as const, sessionId };
      if (
        r.expires_at <= now ||
        !isLive({ revokedAt: null, expiresAt: r.session_expires_at }, now) ||
        sessionDeadline(this.settings, r.created_at, r.last_used_at) <= now
      ) {
        return { failure: 'expired' as const, sessionId };
      }
      const graceMs = this.settings.reuseGraceSeconds * 1000;
      const recently = (d: Date | null) => graceMs > 0 && d !== null && now.getTime() - d.getTime() < graceMs;
      let reason: string | null = 'legacy token';
      if (r.counter === null) {
        // Still a legacy session: the old rule, then the move to v2.
        if (r.spent_at !== null) {
          const children = await tx.refreshToken.findMany({ where: { parentId: r.id }, select: { spentAt: true } });
          const successorUnused = children.length > 0 && children.every((c) => c.spentAt === null);
          if (!(recently(r.spent_at) && successorUnused)) return this.reused(tx, r, meta, now);
          reason = 'legacy token, grace';
        }
        const expiresAt = sessionDeadline(this.settings, r.created_at, now);
        await tx.session.update({
          where: { id: sessionId },
          data: { refreshCounter: 1n, rotatedAt: now, lastUsedAt: now, expiresAt },
        });
        await tx.refreshToken.updateMany({ where: { sessionId, spentAt: null }, data: { spentAt: now } });
        await audit(tx, meta, now, { type: 'refresh', userId: r.user_id, sessionId, reason });
        return {
          userId: r.user_id,
          sessionId,
          sessionStartedAt: r.created_at,
          refreshToken: this.tokens.mint(sessionId, 1n),
          refreshExpiresAt: expiresAt,
        };
      }
      // Already on v2. A legacy token that was live when the session moved is its counter 0: a second tab
      // within the grace gets the current token, anything else is reuse.
      const liveAtSwitch =
        r.spent_at !== null && r.rotated_at !== null && r.spent_at.getTime() === r.rotated_at.getTime();
      if (r.counter === '1' && liveAtSwitch && recently(r.rotated_at)) {
        await audit(tx, meta, now, { type: 'refresh', userId: r.user_id, sessionId, reason: 'legacy token, grace' });
        return {
          userId: r.user_id,
          sessionId,
          sessionStartedAt: r.created_at,
          refreshToken: this.tokens.mint(sessionId, 1n),
          refreshExpiresAt: r.session_expires_at,
        };
      }
      return this.reused(tx, r, meta, now);
    }, LOCKING_TX);
  }

  private async reused(tx: Prisma.TransactionClient, r: Found, meta: RequestMeta, now: Date) {
    await endSessions(tx, { ids: [r.session_id] }, now, 'refresh_token_reused');
    await audit(tx, meta, now, { type: 'refresh_reuse_detected', userId: r.user_id, sessionId: r.session_id });
    return { failure: 'reused' as const, sessionId: r.session_id };
  }

  async sessionOf(token: string): Promise<{ sessionId: string } | null> {
    const [row] = await this.sql.query<{ session_id: string }>(
      'SELECT session_id::text AS session_id FROM refresh_tokens WHERE token_hash = $1',
      [hashRefreshToken(token)],
    );
    return row ? { sessionId: row.session_id } : null;
  }

  /** For introspection: the owner and lifetime of a legacy token, if it is unspent, unexpired and its session live. One statement. */
  async active(
    token: string,
    now: Date,
  ): Promise<{ userId: string; sessionId: string; issuedAt: Date; expiresAt: Date } | null> {
    const [row] = await this.sql.query<{ user_id: string; session_id: string; issued_at: Date; expires_at: Date }>(
      `
      SELECT s.user_id::text AS user_id, s.id::text AS session_id, r.issued_at, r.expires_at
      FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
      WHERE r.token_hash = $1 AND r.spent_at IS NULL AND r.expires_at > $2::timestamptz AND ${liveSql('s', '$2')}`,
      [hashRefreshToken(token), now.toISOString()],
    );
    return row
      ? { userId: row.user_id, sessionId: row.session_id, issuedAt: row.issued_at, expiresAt: row.expires_at }
      : null;
  }
}
