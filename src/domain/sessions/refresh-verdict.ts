// The refresh rule, as one pure function: given what the session row says, the counter a token presents, the
// time and the settings, what a refresh must do. No I/O, so every branch and every boundary second is a unit
// test (test/unit/refresh-verdict.test.ts). The refresh statement (refresh-rotation.ts) is this function's
// `rotate` branch written as SQL, so the common case stays one round trip; the slow path reads the row and
// asks this function why the statement matched nothing.
//
//   no such session (or one from before counters)       → invalid
//   revoked                                             → revoked
//   past its stored expiry or a limit recomputed now    → expired
//   a counter ahead of the session (never issued)       → invalid
//   the current counter                                 → rotate
//   the one before, moved less than the grace ago       → grace (two tabs at once: answer the current token)
//   anything older                                      → reuse (theft: the session ends)
import { isLive, sessionDeadline, type SessionLimits } from './session-state.js';

export interface RefreshSettings extends SessionLimits {
  /** How long after a rotation the previous token still gets the current one (0: never). */
  reuseGraceSeconds: number;
}

/** What the session row says, as the refresh reads it. */
export interface SessionSnapshot {
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  /** Null for a session from before refresh counters (it has no v2 token). */
  counter: bigint | null;
  rotatedAt: Date | null;
}

export type RefreshVerdict = 'rotate' | 'grace' | 'reuse' | 'expired' | 'revoked' | 'invalid';

export function refreshVerdict(
  session: SessionSnapshot | null,
  presented: bigint,
  now: Date,
  settings: RefreshSettings,
): RefreshVerdict {
  if (!session || session.counter === null) return 'invalid';
  if (session.revokedAt !== null) return 'revoked';
  if (
    !isLive({ revokedAt: null, expiresAt: session.expiresAt }, now) ||
    sessionDeadline(settings, session.createdAt, session.lastUsedAt) <= now
  )
    return 'expired';
  if (presented > session.counter) return 'invalid';
  if (presented === session.counter) return 'rotate';
  if (presented === session.counter - 1n && inGrace(session.rotatedAt, now, settings.reuseGraceSeconds)) return 'grace';
  return 'reuse';
}

/** Strictly less than the grace after the rotation: at exactly REFRESH_REUSE_GRACE_SECONDS the window is shut. */
function inGrace(rotatedAt: Date | null, now: Date, graceSeconds: number): boolean {
  return graceSeconds > 0 && rotatedAt !== null && now.getTime() - rotatedAt.getTime() < graceSeconds * 1000;
}
