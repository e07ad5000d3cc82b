// Limits on fetching Client ID Metadata Documents. Anyone can make Tessera fetch a URL by naming it as a
// client_id at /oauth/authorize, so each fetch (not each request: a cached or coalesced one fetches nothing)
// is counted BEFORE it is made, per requesting address and per target host, in fixed windows of
// WINDOW_SECONDS. The address limit stops one caller sweeping many hosts; the host limit stops many callers
// (or one with many addresses) hammering one site through Tessera. Both counters move in one statement (an
// upsert that locks each row it counts, address first so two statements never wait on each other), so of
// any number of simultaneous fetches exactly the limit is made. The counters live in the database, so every
// instance sharing it shares them (the device flow's guess counters work the same way).
import type { Sql } from '../../db/sql.js';
import type { Clock } from '../clock.js';
import { deleteBefore } from '../batches.js';
import { addressBucket } from '../address-bucket.js';

const WINDOW_SECONDS = 600;

export interface FetchLimits {
  /** Fetches one requesting address may cause per window; 0 = unlimited. */
  perAddress: number;
  /** Fetches of one host per window, whoever asks; 0 = unlimited. */
  perHost: number;
}

const COUNT = `
INSERT INTO oauth_document_fetch_counts (key, window_start, fetches)
SELECT k, $2::timestamptz, 1 FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n
ON CONFLICT (key) DO UPDATE SET
  window_start = CASE WHEN oauth_document_fetch_counts.window_start <= $2::timestamptz - make_interval(secs => $3)
                      THEN EXCLUDED.window_start ELSE oauth_document_fetch_counts.window_start END,
  fetches = CASE WHEN oauth_document_fetch_counts.window_start <= $2::timestamptz - make_interval(secs => $3)
                 THEN 1 ELSE oauth_document_fetch_counts.fetches + 1 END
RETURNING key, fetches, window_start`;

export class DocumentFetchLimits {
  constructor(
    private readonly sql: Sql,
    private readonly limits: FetchLimits,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts one fetch of `host` caused by `ip` (every HTTP caller has one, the token endpoint's client lookup too;
   * empty only outside a request, then the host's count alone); null when it may be made, else the seconds until
   * its window ends.
   */
  async take(ip: string, host: string): Promise<{ retryAfter: number } | null> {
    const keys: string[] = [];
    if (this.limits.perAddress > 0 && ip) keys.push(`a|${addressBucket(ip)}`);
    if (this.limits.perHost > 0) keys.push(`h|${host.toLowerCase()}`);
    if (keys.length === 0) return null;
    const now = this.clock.now();
    const rows = await this.sql.query<{ key: string; fetches: number; window_start: Date }>(COUNT, [
      keys,
      now.toISOString(),
      WINDOW_SECONDS,
    ]);
    let retryAfter = 0;
    for (const row of rows) {
      const limit = row.key.startsWith('a|') ? this.limits.perAddress : this.limits.perHost;
      if (row.fetches <= limit) continue;
      const ends = new Date(row.window_start).getTime() + WINDOW_SECONDS * 1000;
      retryAfter = Math.max(retryAfter, Math.ceil((ends - now.getTime()) / 1000), 1);
    }
    return retryAfter > 0 ? { retryAfter } : null;
  }

  /** Deletes counters whose window has ended (the purge job); returns how many went. */
  purge(): Promise<number> {
    return deleteBefore(
      this.sql,
      'oauth_document_fetch_counts',
      'window_start',
      new Date(this.clock.now().getTime() - WINDOW_SECONDS * 1000),
    );
  }
}
