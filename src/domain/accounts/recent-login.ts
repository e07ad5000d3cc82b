// The recent-login rule (RECENT_LOGIN_SECONDS): some changes to an account need proof that its owner is at the
// keyboard now, not just a valid access token. One owner for "recent enough", used by every such change.
import { DomainError } from '../domain-error.js';

/** Throws reauthentication_required unless the session's login (`authTime`) is at most `seconds` before `now`. */
export function requireRecentLogin(authTime: Date, now: Date, seconds: number, what: string): void {
  if (now.getTime() - authTime.getTime() > seconds * 1000)
    throw new DomainError('reauthentication_required', { detail: `${what} without password, login not recent` });
}
