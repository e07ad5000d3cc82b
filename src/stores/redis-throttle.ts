// Failed-login throttling (src/domain/accounts/login-throttle.ts) in Redis, so it holds across instances. An
// adapter of a domain port: it lives apart from src/db/, which the domain itself uses, so no folder imports
// one that imports it back.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { lockSeconds, THROTTLE_POLICY, type ThrottleStore } from '../domain/accounts/login-throttle.js';

// Claim the guess slot, atomically: refused while locked or while another guess holds it.
// ARGV: now, slot ms, busy-retry ms. The key is kept at least as long as the slot.
const CLAIM = `
local now = tonumber(ARGV[1])
local locked = tonumber(redis.call('HGET', KEYS[1], 'lockedUntil') or '0')
if locked > now then return locked end
local slot = tonumber(redis.call('HGET', KEYS[1], 'slotUntil') or '0')
if slot > now then return now + tonumber(ARGV[3]) end
redis.call('HSET', KEYS[1], 'slotUntil', now + tonumber(ARGV[2]))
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

// One failure, atomically: count, lock when over the free allowance, free the slot, expire after the forget period.
const RECORD_FAILURE = `
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local lock = tonumber(ARGV[failures + 2] or ARGV[#ARGV])
if lock > 0 then redis.call('HSET', KEYS[1], 'lockedUntil', tonumber(ARGV[1]) + lock * 1000) end
redis.call('HDEL', KEYS[1], 'slotUntil')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return failures
`;

/**
 * Failed-login counters and guess slots in Redis. Keys are hashed, so Redis never holds an email address.
 * Lock lengths come from lockSeconds() (passed in as a table) so the policy has one definition.
 */
export class RedisThrottleStore implements ThrottleStore {
  private readonly locks: string[];

  /**
   * `onError` hears about Redis failures. The store then fails open (no lock, no slot, nothing counted):
   * a Redis outage must not stop every login, and argon2's cost still bounds guessing.
   */
  constructor(
    private readonly redis: Redis,
    private readonly onError: (err: Error) => void,
    private readonly prefix = 'tessera:login-throttle:',
  ) {
    const table: number[] = [];
    for (let failures = 1; ; failures++) {
      table.push(lockSeconds(failures));
      if (lockSeconds(failures) >= THROTTLE_POLICY.maxLockSeconds) break;
    }
    this.locks = table.map(String);
  }

  private key(key: string): string {
    return this.prefix + createHash('sha256').update(key).digest('base64url');
  }

  async claim(key: string, now: number): Promise<number> {
    const slotMs = THROTTLE_POLICY.slotSeconds * 1000;
    const busyMs = THROTTLE_POLICY.busyRetrySeconds * 1000;
    const until = await this.failOpen(
      this.redis.eval(CLAIM, 1, this.key(key), String(now), String(slotMs), String(busyMs)),
    );
    return typeof until === 'number' ? until : 0;
  }

  async recordFailure(key: string, now: number): Promise<void> {
    const forgetMs = THROTTLE_POLICY.forgetAfterSeconds * 1000;
    await this.failOpen(
      this.redis.eval(RECORD_FAILURE, 1, this.key(key), String(now), String(forgetMs), ...this.locks),
    );
  }

  async release(key: string): Promise<void> {
    await this.failOpen(this.redis.hdel(this.key(key), 'slotUntil'));
  }

  async clear(key: string): Promise<void> {
    await this.failOpen(this.redis.del(this.key(key)));
  }

  private async failOpen<T>(command: Promise<T>): Promise<T | undefined> {
    try {
      return await command;
    } catch (err) {
      this.onError(err as Error);
      return undefined;
    }
  }
}
