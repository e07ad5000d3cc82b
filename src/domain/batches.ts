// Bounded batch deletes, shared by every purge (sessions, refresh-token rows, audit rows): no statement grows
// without bound, and one run stops after a fixed number of batches so a backlog is worked off over several runs.

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
