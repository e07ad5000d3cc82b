// The access token's life in one tab, as plain data and pure functions: when it was issued, when to renew it.
// Times are this browser's clock (Date.now), derived from `expires_in`, never from the token's own `exp`:
// the browser's clock may be minutes off the server's, a relative lifetime is not.

/** The access token a tab holds, in memory only. */
export interface TokenState {
  token: string;
  /** Epoch milliseconds (this browser's clock) when the server stops accepting it. */
  expiresAt: number;
}

/** What POST /auth/login and /auth/refresh answer. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
}

export function tokenFrom(body: TokenResponse, now: number): TokenState {
  return { token: body.access_token, expiresAt: now + body.expires_in * 1000 };
}

/**
 * How long before expiry to renew: `marginSeconds`, but never more than half the lifetime, so a short-lived
 * token is still used for a while before it is renewed.
 */
function marginMs(state: TokenState, now: number, marginSeconds: number): number {
  return Math.min(marginSeconds * 1000, Math.max(0, state.expiresAt - now) / 2);
}

/** Milliseconds from `now` until the token should be renewed (0: now). */
export function refreshDelay(state: TokenState, now: number, marginSeconds: number): number {
  return Math.max(0, state.expiresAt - now - marginMs(state, now, marginSeconds));
}

/** Whether the token is still good to send without renewing it first. */
export function isFresh(state: TokenState | null, now: number, marginSeconds: number): boolean {
  return state !== null && state.expiresAt - now > Math.min(marginSeconds * 1000, 5000);
}
