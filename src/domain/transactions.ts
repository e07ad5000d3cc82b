// Options for every transaction that locks sessions: READ COMMITTED whatever the server's default, so a
// re-read after taking a lock sees what a concurrent transaction committed (under REPEATABLE READ it
// would fail instead), and bounded waits so a stuck lock becomes an error rather than a hung request.
export const LOCKING_TX = { maxWait: 10_000, timeout: 10_000, isolationLevel: 'ReadCommitted' } as const;
