// Per-account throttling of failed logins, keyed by (email, client address).
//
// Policy: the first FREE_FAILURES wrong passwords for an email from one address cost nothing; each one
// after that locks that (email, address) pair for twice as long as the last, from 1 s up to MAX_LOCK_SECONDS.
// A success clears the pair. Keying by address as well as email is what stops an attacker from
// locking a victim out: the attacker's failures lock the attacker's address, never the victim's.
// The same answer is given whether the email has an account or not. Counters are forgotten after
// FORGET_AFTER_SECONDS without failures. They live in a ThrottleStore: memory (per instance) by
// default, Redis when REDIS_URL is set so that every instance sees the same counters.
import type { Clock } from './clock.js';

export const THROTTLE_POLICY = {
  freeFailures: 5,
  maxLockSeconds: 15 * 60,
  forgetAfterSeconds: 60 * 60,
} as const;

/** Where failure counters live. Times are epoch milliseconds from the service's clock. */
export interface ThrottleStore {
  /** Epoch ms until which the key is locked (0 when it isn't). */
  lockedUntil(key: string): Promise<number>;
  /** Counts one failure at `now` and applies the policy. */
  recordFailure(key: string, now: number): Promise<void>;
  clear(key: string): Promise<void>;
}

/** Lock length after `failures` failures in a row, in seconds (0 = not locked). */
export function lockSeconds(failures: number): number {
  const over = failures - THROTTLE_POLICY.freeFailures;
  return over > 0 ? Math.min(THROTTLE_POLICY.maxLockSeconds, 2 ** (over - 1)) : 0;
}

export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly clock: Clock,
  ) {}

  private key(email: string, ip: string): string {
    return `${email.trim().normalize('NFC').toLowerCase()}\u0000${ip}`; // as emails.ts compares them
  }

  /** Seconds the caller must wait before trying this email from this address again; 0 = go ahead. */
  async retryAfter(email: string, ip: string): Promise<number> {
    const wait = (await this.store.lockedUntil(this.key(email, ip))) - this.clock.now().getTime();
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  }

  recordFailure(email: string, ip: string): Promise<void> {
    return this.store.recordFailure(this.key(email, ip), this.clock.now().getTime());
  }

  recordSuccess(email: string, ip: string): Promise<void> {
    return this.store.clear(this.key(email, ip));
  }
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

const MAX_ENTRIES = 100_000;

/** Counters in this process only: fine for one instance, per-instance when there are several. */
export class MemoryThrottleStore implements ThrottleStore {
  private readonly entries = new Map<string, Entry>();

  async lockedUntil(key: string): Promise<number> {
    return this.entries.get(key)?.lockedUntil ?? 0;
  }

  async recordFailure(key: string, now: number): Promise<void> {
    const entry = this.entries.get(key) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    if (now - entry.lastFailure > THROTTLE_POLICY.forgetAfterSeconds * 1000) entry.failures = 0;
    entry.failures += 1;
    entry.lastFailure = now;
    const lock = lockSeconds(entry.failures);
    if (lock > 0) entry.lockedUntil = now + lock * 1000;
    this.entries.delete(key); // re-insert: Map order doubles as least-recently-failed first
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) this.prune(now);
  }

  async clear(key: string): Promise<void> {
    this.entries.delete(key);
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= MAX_ENTRIES * 0.9) break;
      if (now - entry.lastFailure > THROTTLE_POLICY.forgetAfterSeconds * 1000 || entry.lockedUntil < now) this.entries.delete(key);
    }
    // Still full of live locks (a flood of distinct emails): drop the oldest rather than grow without bound.
    for (const key of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES * 0.9) break;
      this.entries.delete(key);
    }
  }
}
