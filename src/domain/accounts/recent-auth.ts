// "Did the user sign in recently enough?": the one rule for acts that a recent sign-in may authorise
// without the password (changing the address without current_password, linking a provider, setting a first
// password). The sign-in time is the access token's auth_time (its session's start); the window is
// RECENT_LOGIN_SECONDS. Older, or no auth_time at all: 403 reauthentication_required. When the account has a
// second factor, acts on factors ask for a recent sign-in WITH it (requireRecentSecondFactor).
import { DomainError } from '../domain-error.js';

/** Throws reauthentication_required unless `authTime` (seconds since the epoch) is within `maxAgeSeconds` of now. */
export function requireRecentAuth(authTime: number | undefined, now: Date, maxAgeSeconds: number): void {
  if (authTime === undefined || now.getTime() - authTime * 1000 > maxAgeSeconds * 1000)
    throw new DomainError('reauthentication_required', { detail: 'sign-in (auth_time) not recent enough' });
}

/**
 * For an account with a second factor, the same rule with the second factor in it: the access token's sign-in
 * (auth_time, within `maxAgeSeconds`) must have used a second factor (amr "mfa"). Without a factor on the
 * account, a recent sign-in is enough. Older, or one factor only: 403 second_factor_required.
 */
export function requireRecentSecondFactor(
  claims: { auth_time?: number | undefined; amr?: string[] | undefined },
  hasFactor: boolean,
  now: Date,
  maxAgeSeconds: number,
): void {
  if (!hasFactor) {
    requireRecentAuth(claims.auth_time, now, maxAgeSeconds);
    return;
  }
  const recent = claims.auth_time !== undefined && now.getTime() - claims.auth_time * 1000 <= maxAgeSeconds * 1000;
  if (!recent || !claims.amr?.includes('mfa'))
    throw new DomainError('second_factor_required', { detail: 'no recent second-factor sign-in (amr, auth_time)' });
}
