// Per-account throttling of failed logins, keyed by (email, client address).
//
// Policy: the first FREE_FAILURES wrong passwords for an email from one address cost nothing; each one
// after that locks that (email, address) pair for twice as long as the last, from 1 s up to MAX_LOCK_SECONDS.
// A success clears the pair. Keying by address as well as email is what stops an attacker from
// locking a victim out: the attacker's failures lock the attacker's address, never the victim's.
// The same answer is given whether the email has an account or not. Counters live in memory, per
// instance, and are forgotten after FORGET_AFTER_SECONDS without failures.
import type { Clock } from './clock.js';

const FREE_FAILURES = 5;
const MAX_LOCK_SECONDS = 15 * 60;
const FORGET_AFTER_SECONDS = 60 * 60;
const MAX_ENTRIES = 100_000;

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock) {}

  private key(email: string, ip: string): string {
    return `${email.trim().toLowerCase()}\u0000${ip}`;
  }

  /** Seconds the caller must wait before trying this email from this address again; 0 = go ahead. */
  retryAfter(email: string, ip: string): number {
    const entry = this.entries.get(this.key(email, ip));
    if (!entry) return 0;
    const wait = entry.lockedUntil - this.clock.now().getTime();
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  }

  recordFailure(email: string, ip: string): void {
    const now = this.clock.now().getTime();
    const key = this.key(email, ip);
    const entry = this.entries.get(key) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    if (now - entry.lastFailure > FORGET_AFTER_SECONDS * 1000) entry.failures = 0;
    entry.failures += 1;
    entry.lastFailure = now;
    if (entry.failures > FREE_FAILURES) {
      const seconds = Math.min(MAX_LOCK_SECONDS, 2 ** (entry.failures - FREE_FAILURES - 1));
      entry.lockedUntil = now + seconds * 1000;
    }
    this.entries.delete(key); // re-insert: Map order doubles as least-recently-failed first
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) this.prune(now);
  }

  recordSuccess(email: string, ip: string): void {
    this.entries.delete(this.key(email, ip));
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= MAX_ENTRIES * 0.9) break;
      if (now - entry.lastFailure > FORGET_AFTER_SECONDS * 1000 || entry.lockedUntil < now) this.entries.delete(key);
    }
    // Still full of live locks (a flood of distinct emails): drop the oldest rather than grow without bound.
    for (const key of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES * 0.9) break;
      this.entries.delete(key);
    }
  }
}
