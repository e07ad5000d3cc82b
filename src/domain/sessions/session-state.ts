// The two rules about a session's life, each in one place: whether it is live, and how it ends.
//
// Live: not revoked and before its stored expiry. That is what /auth/me, the Bearer check and introspection
// ask (isLive, or LIVE in SQL). A refresh asks more: the limits recomputed from the session's start and last
// use with the current settings (a lowered SESSION_MAX_AGE_SECONDS applies to old sessions too): see
// sessionDeadline and refreshCutoffs, which say the same thing for JavaScript and for SQL.
//
// Ending is one UPDATE that sets revoked_at: the session's refresh tokens are (session, counter) pairs, so
// they all die with it; no token rows to touch. Every way a session ends (logout, logout-all, password
// change, DELETE /auth/sessions/:id, revocation, reuse) goes through endSessions. The refresh CAS has
// `revoked_at IS NULL` in its WHERE, so a refresh racing an end can never leave an ended session with a
// live token.
import { Prisma } from '../../generated/prisma/client.js';

export interface SessionLimits {
  refreshTokenTtlSeconds: number;
  /** Absolute session lifetime from login; no refresh extends a session past it. */
  sessionMaxAgeSeconds: number;
  /** A session that has not been refreshed for this long is over. */
  sessionIdleSeconds: number;
}

/** When a session ends if nothing else happens: the earliest of the three limits. */
export function sessionDeadline(limits: SessionLimits, createdAt: Date, lastUsedAt: Date): Date {
  return new Date(
    Math.min(
      lastUsedAt.getTime() + limits.refreshTokenTtlSeconds * 1000,
      lastUsedAt.getTime() + limits.sessionIdleSeconds * 1000,
      createdAt.getTime() + limits.sessionMaxAgeSeconds * 1000,
    ),
  );
}

/**
 * sessionDeadline(…) > now, turned around for SQL: the session may still be refreshed iff
 * last_used_at > lastUsedAfter AND created_at > createdAfter.
 */
export function refreshCutoffs(limits: SessionLimits, now: Date): { lastUsedAfter: Date; createdAfter: Date } {
  const t = now.getTime();
  return {
    lastUsedAfter: new Date(t - Math.min(limits.refreshTokenTtlSeconds, limits.sessionIdleSeconds) * 1000),
    createdAfter: new Date(t - limits.sessionMaxAgeSeconds * 1000),
  };
}

export interface SessionTimes {
  revokedAt: Date | null;
  expiresAt: Date;
}

/** Whether a session is live at `now`. */
export function isLive(session: SessionTimes, now: Date): boolean {
  return session.revokedAt === null && session.expiresAt.getTime() > now.getTime();
}

/** isLive in SQL, for the session table aliased `alias` and the timestamptz parameter `now` (e.g. '$3'). */
export const liveSql = (alias: string, now: string) =>
  `${alias}.revoked_at IS NULL AND ${alias}.expires_at > ${now}::timestamptz`;

/** isLive as a Prisma filter on sessions. */
export const liveWhere = (now: Date) => ({ revokedAt: null, expiresAt: { gt: now } });

/** Anything that can run a raw query: the Prisma client or a transaction. */
type Db = Pick<Prisma.TransactionClient, '$queryRaw'>;

export interface EndWhich {
  ids?: string[];
  userId?: string;
  /** Every one but this (a password change keeps the session it was made from). */
  exceptId?: string;
  /** Only sessions still live then (an expired session is not "ended" again). */
  liveAt?: Date;
}

/**
 * Ends the sessions that match and are not ended yet, in one statement. Returns the ones this call ended
 * (another request may have ended the rest first): callers audit exactly those.
 */
export async function endSessions(
  db: Db,
  which: EndWhich,
  now: Date,
  reason: string,
): Promise<{ id: string; userId: string }[]> {
  if (which.ids?.length === 0) return [];
  const where = [Prisma.sql`revoked_at IS NULL`];
  if (which.ids) where.push(Prisma.sql`id IN (${Prisma.join(which.ids.map((id) => Prisma.sql`${id}::uuid`))})`);
  if (which.userId) where.push(Prisma.sql`user_id = ${which.userId}::uuid`);
  if (which.exceptId) where.push(Prisma.sql`id <> ${which.exceptId}::uuid`);
  if (which.liveAt) where.push(Prisma.sql`expires_at > ${which.liveAt}`);
  const rows = await db.$queryRaw<{ id: string; user_id: string }[]>`
    UPDATE sessions SET revoked_at = ${now}, revoked_reason = ${reason}
    WHERE ${Prisma.join(where, ' AND ')}
    RETURNING id::text AS id, user_id::text AS user_id`;
  return rows.map((r) => ({ id: r.id, userId: r.user_id }));
}
