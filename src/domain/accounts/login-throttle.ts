// Per-account throttling of password guesses, keyed by (email, client address).
//
// Policy: the first FREE_FAILURES wrong passwords for an email from one address cost nothing; each one
// after that locks that (email, address) pair for twice as long as the last, from 1 s up to MAX_LOCK_SECONDS.
// A success clears the pair. Keying by address as well as email is what stops an attacker from
// locking a victim out: the attacker's failures lock the attacker's address, never the victim's.
// The same answer is given whether the email has an account or not. Counters are forgotten after
// FORGET_AFTER_SECONDS without failures.
//
// One guess at a time: a guess must claim the pair's slot before its password is verified, and the claim
// is refused while the pair is locked or another guess holds the slot. The slot is given back only
// with the guess's outcome (a failure recorded, the counter cleared), so a burst of simultaneous guesses
// gets exactly one evaluated and the rest see the lock it leads to. Without this, the lock was checked
// before argon2 and the failure recorded after it, and every guess of a burst slipped through together.
// Stores (memory per instance, or Redis when REDIS_URL is set) make claim-or-refuse one atomic step.
import type { Clock } from '../clock.js';
import { throttleIdentity } from './emails.js';
import { addressBucket } from '../address-bucket.js';

export const THROTTLE_POLICY = {
  freeFailures: 5,
  maxLockSeconds: 15 * 60,
  forgetAfterSeconds: 60 * 60,
  /** A slot whose guess never reported back (its instance died) is free again after this. */
  slotSeconds: 30,
  /** What a guess refused because another one holds the slot is told to wait. */
  busyRetrySeconds: 1,
} as const;

/** Where counters and slots live. Times are epoch milliseconds from the service's clock. */
export interface ThrottleStore {
  /**
   * Atomically: when the key is locked, returns the epoch ms it is locked until; when another guess holds
   * its slot, returns now + busyRetrySeconds; otherwise takes the slot and returns 0.
   */
  claim(key: string, now: number): Promise<number>;
  /** Counts one failure at `now`, applies the policy and frees the slot. */
  recordFailure(key: string, now: number): Promise<void>;
  /** Frees the slot without counting anything (the guess could not be evaluated). */
  release(key: string): Promise<void>;
  /** Forgets the key (a success): counter, lock and slot. */
  clear(key: string): Promise<void>;
}

/** Lock length after `failures` failures in a row, in seconds (0 = not locked). */
export function lockSeconds(failures: number): number {
  const over = failures - THROTTLE_POLICY.freeFailures;
  return over > 0 ? Math.min(THROTTLE_POLICY.maxLockSeconds, 2 ** (over - 1)) : 0;
}

export type GuessOutcome = { throttled: false; ok: boolean } | { throttled: true; retryAfter: number };

export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly clock: Clock,
  ) {}

  private key(email: string, ip: string): string {
    return `${throttleIdentity(email)}\u0000${addressBucket(ip)}`;
  }

  /** Forgets the failures of (email, address): a password reset from there proved the owner. */
  async forget(email: string, ip: string): Promise<void> {
    await this.store.clear(this.key(email, ip));
  }

  /**
   * Runs `check` (one password verification) only if this (email, address) may guess now, holding its
   * slot meanwhile, and records the outcome before the slot is free again. When it may not,
   * `check` does not run and the answer says how many seconds to wait.
   */
  async guess(email: string, ip: string, check: () => Promise<boolean>): Promise<GuessOutcome> {
    const key = this.key(email, ip);
    const until = await this.store.claim(key, this.clock.now().getTime());
    if (until > 0)
      return { throttled: true, retryAfter: Math.max(1, Math.ceil((until - this.clock.now().getTime()) / 1000)) };
    let ok: boolean;
    try {
      ok = await check();
    } catch (err) {
      await this.store.release(key);
      throw err;
    }
    if (ok) await this.store.clear(key);
    else await this.store.recordFailure(key, this.clock.now().getTime());
    return { throttled: false, ok };
  }
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
  slotUntil: number;
}

const MAX_ENTRIES = 100_000;

/** Counters in this process only: fine for one instance, per-instance when there are several. */
export class MemoryThrottleStore implements ThrottleStore {
  private readonly entries = new Map<string, Entry>();

  // No await before the entry is written: check and claim happen in one turn of the event loop.
  async claim(key: string, now: number): Promise<number> {
    const entry = this.entries.get(key);
    if (entry && entry.lockedUntil > now) return entry.lockedUntil;
    if (entry && entry.slotUntil > now) return now + THROTTLE_POLICY.busyRetrySeconds * 1000;
    const slotUntil = now + THROTTLE_POLICY.slotSeconds * 1000;
    if (entry) entry.slotUntil = slotUntil;
    else this.insert(key, { failures: 0, lockedUntil: 0, lastFailure: now, slotUntil }, now);
    return 0;
  }

  async recordFailure(key: string, now: number): Promise<void> {
    const entry = this.entries.get(key) ?? { failures: 0, lockedUntil: 0, lastFailure: now, slotUntil: 0 };
    if (now - entry.lastFailure > THROTTLE_POLICY.forgetAfterSeconds * 1000) entry.failures = 0;
    entry.failures += 1;
    entry.lastFailure = now;
    entry.slotUntil = 0;
    const lock = lockSeconds(entry.failures);
    if (lock > 0) entry.lockedUntil = now + lock * 1000;
    this.entries.delete(key); // re-insert: Map order doubles as least-recently-failed first
    this.insert(key, entry, now);
  }

  async release(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) entry.slotUntil = 0;
  }

  async clear(key: string): Promise<void> {
    this.entries.delete(key);
  }

  private insert(key: string, entry: Entry, now: number): void {
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) this.prune(now);
  }

  private prune(now: number): void {
    const stale = (e: Entry) =>
      (now - e.lastFailure > THROTTLE_POLICY.forgetAfterSeconds * 1000 || e.lockedUntil < now) && e.slotUntil < now;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= MAX_ENTRIES * 0.9) break;
      if (stale(entry)) this.entries.delete(key);
    }
    // Still full of live locks (a flood of distinct emails): drop the oldest rather than grow without bound.
    for (const key of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES * 0.9) break;
      this.entries.delete(key);
    }
  }
}
