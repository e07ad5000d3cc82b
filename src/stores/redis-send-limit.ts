// The per-email send limit (src/domain/mail/send-limit.ts) in Redis, so it holds across instances. One
// script: count, and start the window's expiry on the first send. Keys are hashed: Redis never holds an
// address. Redis failing fails open (as the other Redis stores do), reported through onError.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SendLimitStore } from '../domain/mail/send-limit.js';

const INCREMENT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`;

export class RedisSendLimitStore implements SendLimitStore {
  constructor(
    private readonly redis: Redis,
    private readonly onError: (err: Error) => void,
    private readonly prefix = 'tessera:mail-limit:',
  ) {}

  async increment(key: string, windowMs: number): Promise<number> {
    try {
      const n = await this.redis.eval(
        INCREMENT,
        1,
        this.prefix + createHash('sha256').update(key).digest('base64url'),
        String(windowMs),
      );
      return Number(n);
    } catch (err) {
      this.onError(err as Error);
      return 0;
    }
  }
}
