// Liveness (the process answers) and readiness (the database answers too, and no disk-full error is recent).
// Both are bounded: a database that hangs makes readiness a 503 after READY_TIMEOUT_MS, never a hang.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { RETRY_AFTER } from '../plugins/error-handler.js';
import { errorResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';
import { ping } from '../db/ping.js';

const Status = Type.Object({ status: Type.Literal('ok') });
const READY_TIMEOUT_MS = 2000;

const healthRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onSend', noStore);

  app.get('/live', { schema: { response: { 200: Status, ...errorResponses } } }, async () => ({
    status: 'ok' as const,
  }));

  app.get('/ready', { schema: { response: { 200: Status, ...errorResponses } } }, async () => {
    // A known fault answers at once; no bounded wait is started for it.
    const known = fastify.databaseFaults.current();
    if (known)
      throw new AppError('service_unavailable', {
        detail: `readiness: database_${known}`,
        retryAfter: RETRY_AFTER[known],
      });
    try {
      await within(ping(services.database), READY_TIMEOUT_MS, 'database ping timed out');
    } catch (err) {
      throw new AppError('service_unavailable', {
        detail: `readiness: ${(err as Error).message}`,
        cause: err,
        retryAfter: RETRY_AFTER.unavailable,
      });
    }
    return { status: 'ok' as const };
  });
};

export default healthRoutes;

/**
 * `work`, or a rejection after `ms`. The timer exists only while `work` is awaited and is cleared however it
 * ends, so no timer outlives the request and no rejection is left for the process's last-resort handler.
 */
function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
