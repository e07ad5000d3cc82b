// Deletes shared by the purges: bounded batches for the large tables (sessions, refresh-token rows, audit rows),
// so no statement grows without bound and a backlog is worked off over several runs; and one statement for the
// small tables whose rows end at a time (codes, counters), which answers a count instead of every deleted key.
import type { Sql } from '../db/sql.js';

/** Runs `deleteBatch` until it deletes fewer than `batchSize` rows or `maxBatches` ran; the rows deleted. */
export async function batches(
  batchSize: number,
  maxBatches: number,
  deleteBatch: () => Promise<number>,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const deleted = await deleteBatch();
    total += deleted;
    if (deleted < batchSize) break;
  }
  return total;
}

/**
 * Deletes the rows of `table` whose `column` is before `before`, in one statement; how many went. `table` and
 * `column` are names written in the code, never input.
 */
export async function deleteBefore(sql: Sql, table: string, column: string, before: Date): Promise<number> {
  const [row] = await sql.query<{ deleted: number }>(
    `WITH gone AS (DELETE FROM ${table} WHERE ${column} < $1::timestamptz RETURNING 1) SELECT count(*)::int AS deleted FROM gone`,
    [before.toISOString()],
  );
  return row?.deleted ?? 0;
}
