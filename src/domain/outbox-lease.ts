// What every outbox (mail, webhooks) shares: taking due rows with one statement and retrying with a capped
// exponential backoff. An outbox table has attempts, next_attempt_at, locked_until, sent_at and failed_at.
//
// Claiming is one statement: rows due and not leased are taken `FOR UPDATE SKIP LOCKED` and leased
// (locked_until) in the same UPDATE, so instances sharing a database never take the same row, never wait
// for each other, and a single-connection PGlite needs no transaction around it. The lease value is the
// claim's fencing token: only the instance holding it may mark the row sent or failed. An instance that
// dies mid-send loses its lease and another one delivers the row after it expires (at-least-once there).
// An idle outbox is polled with a read: the claiming UPDATE runs only when a row is due, so idle instances
// write nothing (no row locks, no WAL, no write in a statement count of the hot paths).
import type { Sql } from '../db/sql.js';

/** The outbox tables (a closed list: the name is spliced into the statement). */
type OutboxTable = 'mail_outbox' | 'webhook_deliveries';

/** A column that groups an outbox's rows (the webhooks' endpoint), with how many of one group a claim takes. */
interface PerLane {
  column: 'endpoint_id';
  limit: number;
  /** Lanes left out (busy in the claiming instance). */
  exclude: string[];
}

/**
 * Leases up to `limit` due rows of `table` until `now + leaseMs` and returns `columns` of each (plus
 * `attempts`, already counting this one, and `locked_until`, the lease), in id order. With `perLane`, at most
 * `perLane.limit` rows of one lane are taken, so a backlog for one receiver leaves room in the batch for others,
 * and none of a lane in `perLane.exclude`.
 */
export async function claimDue<R extends { id: string }>(
  sql: Sql,
  table: OutboxTable,
  columns: string,
  now: Date,
  leaseMs: number,
  limit: number,
  perLane?: PerLane,
): Promise<(R & { attempts: number; locked_until: Date })[]> {
  const due = await sql.query(
    `SELECT 1 FROM ${table}
     WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1::timestamptz
       AND (locked_until IS NULL OR locked_until <= $1::timestamptz)
     LIMIT 1`,
    [now.toISOString()],
  );
  if (due.length === 0) return [];
  const until = new Date(now.getTime() + leaseMs);
  const dueNow = `sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1::timestamptz
         AND (locked_until IS NULL OR locked_until <= $1::timestamptz)`;
  // The lane's first rows by id (a window function cannot sit beside FOR UPDATE, so it picks the candidates).
  const lane = perLane
    ? `AND ${perLane.column}::text NOT IN (SELECT jsonb_array_elements_text($4::jsonb))
       AND id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY ${perLane.column} ORDER BY id) AS n
         FROM ${table} WHERE ${dueNow}) ranked WHERE n <= ${Number(perLane.limit)})`
    : '';
  const rows = await sql.query<R & { attempts: number; locked_until: Date }>(
    `UPDATE ${table} m SET locked_until = $2::timestamptz, attempts = m.attempts + 1
     FROM (
       SELECT id FROM ${table}
       WHERE ${dueNow} ${lane}
       ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED
     ) due
     WHERE m.id = due.id
     RETURNING m.id::text AS id, m.attempts, m.locked_until, ${columns}`,
    [now.toISOString(), until.toISOString(), limit, ...(perLane ? [JSON.stringify(perLane.exclude)] : [])],
  );
  return rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** Retry n (1-based) waits base · 2^(n−1), at most max. */
export function backoffMs(attempts: number, backoff: Backoff): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
}
