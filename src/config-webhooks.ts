// The webhook settings (src/domain/webhooks/), validated at boot with the rest of src/config.ts and kept in
// their own file so the delivery rules read as one block: how often to poll, how long to wait for a
// receiver, how to back off and when to give up, and whether private addresses may receive events at all.
import { Type, type Static } from 'typebox';

/** Spread into the env schema of src/config.ts. */
export const WebhookEnvFields = {
  WEBHOOK_POLL_INTERVAL_MS: Type.Integer({ minimum: 20, maximum: 60000, default: 1000 }),
  /** Connect, send and answer, all of it: a receiver slower than this is a failed attempt. */
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 30000, default: 5000 }),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  WEBHOOK_RETRY_BASE_MS: Type.Integer({ minimum: 10, maximum: 3600000, default: 10000 }),
  WEBHOOK_RETRY_MAX_MS: Type.Integer({ minimum: 10, maximum: 86400000, default: 900000 }),
  /** How many endpoints one instance delivers to at once (each endpoint's deliveries go one after another). */
  WEBHOOK_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 8 }),
  /** Lets endpoints resolve to loopback, private or link-local addresses. */
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: Type.Optional(
    Type.Unsafe<'true' | 'false'>({ type: 'string', enum: ['true', 'false'] }),
  ),
  /** Lets endpoints use plain http:// in production (always allowed outside production). */
  WEBHOOK_ALLOW_HTTP: Type.Optional(Type.Unsafe<'true' | 'false'>({ type: 'string', enum: ['true', 'false'] })),
};

const WebhookEnv = Type.Object(WebhookEnvFields);

export interface WebhookConfig {
  pollIntervalMs: number;
  timeoutMs: number;
  maxAttempts: number;
  /** Endpoints delivered to at once by one instance. */
  concurrency: number;
  /** Retry n waits base · 2^(n−1), at most max. */
  backoff: { baseMs: number; maxMs: number };
  allowPrivateAddresses: boolean;
  /** http:// endpoint URLs: outside production, or where WEBHOOK_ALLOW_HTTP says so. */
  allowHttp: boolean;
}

/** Parses the webhook settings; `fail` throws the caller's ConfigError with the message. */
export function webhookConfig(
  env: Static<typeof WebhookEnv> & { NODE_ENV: string },
  fail: (message: string) => never,
): WebhookConfig {
  if (env.WEBHOOK_RETRY_BASE_MS > env.WEBHOOK_RETRY_MAX_MS)
    fail('invalid configuration: WEBHOOK_RETRY_BASE_MS must not exceed WEBHOOK_RETRY_MAX_MS');
  const allowPrivateAddresses = env.WEBHOOK_ALLOW_PRIVATE_ADDRESSES === 'true';
  return {
    pollIntervalMs: env.WEBHOOK_POLL_INTERVAL_MS,
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
    concurrency: env.WEBHOOK_CONCURRENCY,
    backoff: { baseMs: env.WEBHOOK_RETRY_BASE_MS, maxMs: env.WEBHOOK_RETRY_MAX_MS },
    allowPrivateAddresses,
    allowHttp: env.WEBHOOK_ALLOW_HTTP === 'true' || env.NODE_ENV !== 'production',
  };
}
