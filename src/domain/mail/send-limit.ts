// How many messages a flow may send to one address per hour, whoever asks and from wherever: the per-address
// HTTP rate limit stops one client hammering, this stops many clients (or one with many addresses) from
// flooding a victim's inbox. Keyed by the address's throttle identity (src/domain/accounts/emails.ts), so case and
// look-alike variants count as one. A refused send is not an error the client sees on enumeration-safe
// endpoints: forgot-password still answers 202 (and does the same work), it just sends nothing.
// Counters live in memory (per instance) or in Redis when REDIS_URL is set (src/stores/redis-send-limit.ts),
// so the limit holds across instances.
import type { Clock } from '../clock.js';
import { throttleIdentity } from '../accounts/emails.js';

export interface SendLimitStore {
  /** Atomically counts one send for `key` in the window starting at its first send; returns the count. */
  increment(key: string, windowMs: number, now: number): Promise<number>;
}

const WINDOW_MS = 60 * 60 * 1000;
const MAX_KEYS = 100_000;

export class MemorySendLimitStore implements SendLimitStore {
  private readonly windows = new Map<string, { count: number; until: number }>();

  async increment(key: string, windowMs: number, now: number): Promise<number> {
    const w = this.windows.get(key);
    if (w && w.until > now) return ++w.count;
    this.windows.delete(key);
    this.windows.set(key, { count: 1, until: now + windowMs });
    if (this.windows.size > MAX_KEYS) {
      for (const [k, v] of this.windows) {
        if (this.windows.size <= MAX_KEYS * 0.9) break;
        if (v.until <= now || this.windows.size > MAX_KEYS) this.windows.delete(k);
      }
    }
    return 1;
  }
}

export class SendLimit {
  constructor(
    private readonly store: SendLimitStore,
    private readonly perHour: number,
    private readonly clock: Clock,
  ) {}

  /** Counts a send of `purpose` to `email`; false when the hour's allowance is spent (0 = unlimited). */
  async allow(purpose: string, email: string): Promise<boolean> {
    if (this.perHour === 0) return true;
    const count = await this.store.increment(
      `${purpose}\u0000${throttleIdentity(email)}`,
      WINDOW_MS,
      this.clock.now().getTime(),
    );
    return count <= this.perHour;
  }
}
