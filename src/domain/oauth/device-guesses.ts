// Limits on entering user codes (RFC 8628 §5.1): a user code has only 34.6 bits (user-codes.ts), so every
// attempt at the verification page is counted BEFORE the code is looked up, per browser session and per
// address, in fixed windows of WINDOW_SECONDS. Both counters move in one statement (an upsert that locks each
// row it counts), so of any number of simultaneous attempts exactly the limit is looked up. A correct code
// counts like a wrong one and resets nothing: a guesser cannot clear the address counter by entering a code
// of their own now and then. The counters live in the database, so every instance shares them.
//
// What that bounds (docs/oauth-apps.md, "CLI tools"): a code lives 600 s, which overlaps at most two windows, so one
// address makes at most 2 × PER_ADDRESS = 40 attempts in a code's lifetime; each hits one given live code
// with probability 1 / 20^8.
import type { Sql } from '../../db/sql.js';
import type { Clock } from '../clock.js';
import { deleteBefore } from '../batches.js';
import { addressBucket } from '../address-bucket.js';

export const WINDOW_SECONDS = 600;
/** Attempts per browser session (signed-in user) per window: room for typos, none for guessing. */
export const PER_SESSION = 5;
/** Attempts per address per window: a few people behind one NAT, each with a typo. */
export const PER_ADDRESS = 20;

const COUNT = `
INSERT INTO oauth_device_guesses (key, window_start, attempts)
VALUES ($1, $3::timestamptz, 1), ($2, $3::timestamptz, 1)
ON CONFLICT (key) DO UPDATE SET
  window_start = CASE WHEN oauth_device_guesses.window_start <= $3::timestamptz - make_interval(secs => $4)
                      THEN EXCLUDED.window_start ELSE oauth_device_guesses.window_start END,
  attempts = CASE WHEN oauth_device_guesses.window_start <= $3::timestamptz - make_interval(secs => $4)
                  THEN 1 ELSE oauth_device_guesses.attempts + 1 END
RETURNING key, attempts, window_start`;

export type GuessVerdict = { allowed: true } | { allowed: false; retryAfter: number };

export class DeviceGuesses {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** Deletes counters whose window has ended (the purge job); returns how many went. */
  purge(): Promise<number> {
    return deleteBefore(
      this.sql,
      'oauth_device_guesses',
      'window_start',
      new Date(this.clock.now().getTime() - WINDOW_SECONDS * 1000),
    );
  }

  /** Counts one attempt by this browser session from this address; whether it may be looked up. */
  async attempt(browserSessionId: string, ip: string): Promise<GuessVerdict> {
    const now = this.clock.now();
    // Address first: every statement locks the two rows in the same order, so two never wait on each other.
    const rows = await this.sql.query<{ key: string; attempts: number; window_start: Date }>(COUNT, [
      `a|${addressBucket(ip)}`,
      `s|${browserSessionId}`,
      now.toISOString(),
      WINDOW_SECONDS,
    ]);
    let retryAfter = 0;
    for (const row of rows) {
      const limit = row.key.startsWith('a|') ? PER_ADDRESS : PER_SESSION;
      if (row.attempts > limit) {
        const ends = new Date(row.window_start).getTime() + WINDOW_SECONDS * 1000;
        retryAfter = Math.max(retryAfter, Math.max(1, Math.ceil((ends - now.getTime()) / 1000)));
      }
    }
    return retryAfter > 0 ? { allowed: false, retryAfter } : { allowed: true };
  }
}
