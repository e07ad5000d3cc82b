// How many argon2id hashes a process runs at once, and the one queue that holds the rest.
// argon2 runs on libuv's thread pool (UV_THREADPOOL_SIZE, 4 threads by default), which also serves WebCrypto's
// signatures (jose), file reads and DNS. More hashes at once than cores go no faster, but they held every thread of
// the pool, so a refresh's signature waited behind a burst of logins, and each thread's malloc arena kept its own
// 19 MiB block afterwards (docs/operations-boot-and-memory.md#malloc-arenas). So: one hash per core of the machine,
// shared between the WORKERS processes on it, never more than the pool has threads. The queue is the process's
// (its thread pool and cores are), shared by every hasher in it, first come first served for known and unknown
// users alike, so their answers still take the same time.
import pLimit from 'p-limit';

const LIBUV_DEFAULT_THREADS = 4;
const LIBUV_MAX_THREADS = 1024;

/** The thread pool's size as libuv reads UV_THREADPOOL_SIZE at start (atoi; 0 or no digits is 1; at most 1024). */
export function threadPoolSize(value: string | undefined): number {
  if (value === undefined) return LIBUV_DEFAULT_THREADS;
  const n = Number.parseInt(value, 10);
  if (Number.isNaN(n) || n === 0) return 1;
  return n < 0 ? LIBUV_MAX_THREADS : Math.min(n, LIBUV_MAX_THREADS); // a negative count wraps around in libuv
}

/** Hashes one process may run at once: its share of the machine's cores (at least one), within its thread pool. */
export function hashSlots(opts: { cores: number; threadPool: number; processes: number }): number {
  return Math.max(1, Math.min(Math.floor(opts.cores / Math.max(1, opts.processes)), opts.threadPool));
}

const queue = pLimit(1);

/** Sets how many hashes run at once (at boot, from the configuration); those waiting start as slots free up. */
export function setHashSlots(slots: number): void {
  queue.concurrency = slots;
}

/** Runs one hash or verification when a slot is free. */
export function inHashSlot<T>(hash: () => Promise<T>): Promise<T> {
  return queue(hash);
}

/** The queue now (a gauge on /metrics): hashes running, waiting for a slot, and the slots. */
export function hashesInFlight(): { running: number; waiting: number; slots: number } {
  return { running: queue.activeCount, waiting: queue.pendingCount, slots: queue.concurrency };
}
