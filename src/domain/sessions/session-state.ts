// Whether a session is live, in one place (how it ends is session-end.ts).
//
// Live: not revoked and before its stored expiry. That is what /auth/me, the Bearer check and introspection
// ask (isLive, or LIVE in SQL). A refresh asks more: the limits recomputed from the session's start and last
// use with the current settings (a lowered SESSION_MAX_AGE_SECONDS applies to old sessions too): see
// sessionDeadline and refreshCutoffs, which say the same thing for JavaScript and for SQL.

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
