// The in-memory rate-limit store, with one fix: @fastify/rate-limit's LocalStore hands every caller the
// same mutable counter object, and the plugin reads it only after an await. In a burst of concurrent
// requests every increment lands first, so all of them read the final count and all are refused, not
// just those over the limit. Each caller here gets a copy taken at its own increment.
import { createRequire } from 'node:module';

interface Counter {
  current: number;
  ttl: number;
}
interface Store {
  incr(key: string, cb: (err: Error | null, res?: Counter) => void, timeWindow: number, max: number): void;
  child(routeOptions: object): Store;
}
type LocalStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => Store;
const LocalStore = createRequire(import.meta.url)('@fastify/rate-limit/store/LocalStore.js') as LocalStoreCtor;

function snapshotting(inner: Store): Store {
  return {
    incr(key, cb, timeWindow, max) {
      inner.incr(key, (err, res) => cb(err, res && { current: res.current, ttl: res.ttl }), timeWindow, max);
    },
    child: (routeOptions) => snapshotting(inner.child(routeOptions)),
  };
}

/** Passed as `store` to @fastify/rate-limit, which constructs it with its global parameters. */
export class MemoryRateLimitStore {
  constructor(params: { continueExceeding?: boolean; exponentialBackoff?: boolean }) {
    // biome-ignore lint/correctness/noConstructorReturn: @fastify/rate-limit calls `new store(options)`; it must get the wrapped LocalStore
    return snapshotting(new LocalStore(params.continueExceeding ?? false, params.exponentialBackoff ?? false));
  }
}
