// "Did the user sign in recently enough?": the one rule for acts that a recent sign-in may authorise
// without the password (changing the address without current_password, linking a provider, setting a first
// password). The sign-in time is the access token's auth_time (its session's start); the window is
// RECENT_LOGIN_SECONDS. Older, or no auth_time at all: 403 reauthentication_required.
import { DomainError } from '../domain-error.js';

/** Throws reauthentication_required unless `authTime` (seconds since the epoch) is within `maxAgeSeconds` of now. */
export function requireRecentAuth(authTime: number | undefined, now: Date, maxAgeSeconds: number): void {
  if (authTime === undefined || now.getTime() - authTime * 1000 > maxAgeSeconds * 1000)
    throw new DomainError('reauthentication_required', { detail: 'sign-in (auth_time) not recent enough' });
}
