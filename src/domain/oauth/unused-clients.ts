// The one deletion of clients nobody vouched for and nobody uses: dynamically registered clients
// (dynamic-registration.ts) and clients named by a metadata document (client-documents.ts) whose mark is
// older than the TTL and that hold no live grant go, with their codes, consents and the mark itself, in
// batches of BATCH. A disabled document client is kept: its URL would otherwise come back enabled at the next
// fetch, and an admin's disable must outlive every re-fetch.
import type { Sql } from '../../db/sql.js';
import { liveSql } from '../sessions/session-state.js';

const BATCH = 500;

/** The table that marks a kind of client, and the column of the time it is judged by. */
export interface ClientMark {
  table: 'oauth_dynamic_registrations' | 'oauth_client_metadata_documents';
  since: 'registered_at' | 'fetched_at';
  /** Keep the clients an admin disabled. */
  keepDisabled: boolean;
}

const purgeSql = ({ table, since, keepDisabled }: ClientMark) => `
WITH doomed AS (
  SELECT m.client_id FROM ${table} m LEFT JOIN oauth_clients c ON c.id = m.client_id
  WHERE m.${since} < $1::timestamptz ${keepDisabled ? 'AND c.disabled_at IS NULL' : ''}
    AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.client_id = m.client_id AND ${liveSql('s', '$2')})
  ORDER BY m.${since} LIMIT ${BATCH}
), codes AS (
  DELETE FROM oauth_codes WHERE client_id IN (SELECT client_id FROM doomed)
), consents AS (
  DELETE FROM oauth_consents WHERE client_id IN (SELECT client_id FROM doomed)
), clients AS (
  DELETE FROM oauth_clients WHERE id IN (SELECT client_id FROM doomed)
), gone AS (
  DELETE FROM ${table} WHERE client_id IN (SELECT client_id FROM doomed) RETURNING 1
)
SELECT count(*)::int AS n FROM gone`;

/** Deletes the marked clients older than `cutoff` with no live grant at `now`; returns how many. */
export async function purgeUnusedClients(sql: Sql, mark: ClientMark, cutoff: Date, now: Date): Promise<number> {
  const text = purgeSql(mark);
  let total = 0;
  for (;;) {
    const [row] = await sql.query<{ n: number }>(text, [cutoff.toISOString(), now.toISOString()]);
    total += row?.n ?? 0;
    if (!row || row.n < BATCH) return total;
  }
}
