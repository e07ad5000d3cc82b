// Redis, when REDIS_URL is set: the shared store for rate-limit counters, failed-login throttling and the mail
// send limit (their stores are in src/stores/), so that limits hold across every instance. Connected at boot (an unreachable Redis is a boot error);
// afterwards commands fail fast instead of queueing while Redis is away.
import type { Redis } from 'ioredis';

const CONNECT_TIMEOUT_MS = 5000;

export async function connectRedis(url: string): Promise<Redis> {
  // Loaded here: a deployment without REDIS_URL never loads the client's code.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  // Connection errors are reported by the commands that fail; without a listener ioredis prints them.
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`cannot connect to REDIS_URL: ${(err as Error).message}`);
  }
  return redis;
}
