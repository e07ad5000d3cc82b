// Pushed authorization requests (RFC 9126): a client posts its authorization parameters to /oauth/par,
// authenticated, and gets a request_uri to send the browser with instead of the parameters themselves. The
// parameters are checked when pushed (by the same validator as /oauth/authorize); this file only keeps them.
//   push    stores the parameters under the SHA-256 of 256 random bits; the request_uri lives 60 s.
//   claim   /oauth/authorize spends the request_uri: ONE UPDATE … WHERE used_at IS NULL, for its own client,
//           unexpired, so of any number of concurrent uses exactly one proceeds. The claiming browser's key
//           (the SHA-256 of its CSRF cookie) is written in the same statement.
//   resume  the sign-in and consent pages carry the request_uri on; only the browser that claimed it, within
//           the time a user needs to sign in and consent, reads the parameters again.
import { createHash, randomBytes } from 'node:crypto';
import type { Sql } from '../../db/sql.js';
import type { Clock } from '../clock.js';

/** RFC 9126 §2.2: the URN prefix of a request_uri this server issued. */
const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';
const PUSHED_REQUEST_TTL_SECONDS = 60;
/** How long after its claim the browser that claimed a request may go on with it (sign-in, consent). */
const FLOW_SECONDS = 900;
const RANDOM = /^[A-Za-z0-9_-]{43}$/;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64url');

/** The stored key of a request_uri, or null when it is not one of ours. */
function keyOf(requestUri: string): string | null {
  if (!requestUri.startsWith(REQUEST_URI_PREFIX)) return null;
  const random = requestUri.slice(REQUEST_URI_PREFIX.length);
  return RANDOM.test(random) ? sha256(random) : null;
}

/** The browser's key: the hash of a secret only that browser holds (its CSRF cookie). */
export const browserKeyOf = (csrfToken: string) => sha256(`pushed-request|${csrfToken}`);

export type PushedParams = Record<string, string>;

/** A claimed request: its parameters, and when it was claimed (a sign-in after that satisfies prompt=login). */
export interface ClaimedRequest {
  params: PushedParams;
  claimedAt: Date;
}

const INSERT = `
INSERT INTO oauth_pushed_requests (id, client_id, params, created_at, expires_at)
VALUES ($1, $2, $3::jsonb, $4::timestamptz, $5::timestamptz)`;

const CLAIM = `
UPDATE oauth_pushed_requests SET used_at = $3::timestamptz, browser_key = $4
WHERE id = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > $3::timestamptz
RETURNING params, used_at`;

const RESUME = `
SELECT params, used_at FROM oauth_pushed_requests
WHERE id = $1 AND client_id = $2 AND browser_key = $3 AND used_at > $4::timestamptz`;

const PURGE = `DELETE FROM oauth_pushed_requests WHERE expires_at < $1::timestamptz`;

export class PushedRequests {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** Keeps a checked request; answers RFC 9126 §2.2's request_uri and expires_in. */
  async push(clientId: string, params: PushedParams): Promise<{ requestUri: string; expiresIn: number }> {
    const now = this.clock.now();
    const random = randomBytes(32).toString('base64url');
    const expires = new Date(now.getTime() + PUSHED_REQUEST_TTL_SECONDS * 1000);
    // Old rows go with the pushes that make new ones: one bounded statement, no job needed.
    await this.sql.query(PURGE, [new Date(now.getTime() - FLOW_SECONDS * 1000).toISOString()]);
    await this.sql.query(INSERT, [
      sha256(random),
      clientId,
      JSON.stringify(params),
      now.toISOString(),
      expires.toISOString(),
    ]);
    return { requestUri: `${REQUEST_URI_PREFIX}${random}`, expiresIn: PUSHED_REQUEST_TTL_SECONDS };
  }

  /** Spends the request_uri for this client and browser: its parameters, or null (unknown, used, expired, other client). */
  async claim(requestUri: string, clientId: string, browserKey: string): Promise<ClaimedRequest | null> {
    const key = keyOf(requestUri);
    if (!key) return null;
    const rows = await this.sql.query<{ params: PushedParams; used_at: Date }>(CLAIM, [
      key,
      clientId,
      this.clock.now().toISOString(),
      browserKey,
    ]);
    const row = rows[0];
    return row ? { params: row.params, claimedAt: new Date(row.used_at) } : null;
  }

  /** The parameters of a request this browser claimed a short while ago, or null. */
  async resume(requestUri: string, clientId: string, browserKey: string): Promise<ClaimedRequest | null> {
    const key = keyOf(requestUri);
    if (!key) return null;
    const since = new Date(this.clock.now().getTime() - FLOW_SECONDS * 1000);
    const rows = await this.sql.query<{ params: PushedParams; used_at: Date }>(RESUME, [
      key,
      clientId,
      browserKey,
      since.toISOString(),
    ]);
    const row = rows[0];
    return row ? { params: row.params, claimedAt: new Date(row.used_at) } : null;
  }
}
