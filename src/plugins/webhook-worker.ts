// Starts the webhook delivery worker (src/domain/webhooks/worker.ts) with the app and stops it on close, after
// the batch in flight is recorded (the database closes after this hook). Every attempt feeds the delivery
// metrics and one log line (event type, ids, status, never the payload); finished deliveries go with the
// purge job's PURGE_AFTER_DAYS.
import fp from 'fastify-plugin';
import { WebhookWorker } from '../domain/webhooks/worker.js';
import type { Services } from '../services.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The webhook delivery worker (tests call runOnce). */
    webhookWorker: WebhookWorker;
  }
}

export default fp<{ services: Services }>(
  async (app, { services }) => {
    const { webhooks, purgeInterval, purgeAfterDays } = services.config;
    const worker = new WebhookWorker(
      services.webhooks.deliveries,
      services.webhooks.endpoints,
      webhooks,
      services.clock,
      {
        attempted: (d, result, outcome, seconds) => {
          app.metrics.webhookDeliveries.inc({ result });
          app.metrics.webhookDuration.observe(seconds);
          const line = {
            event: `webhook_${result}`,
            deliveryId: d.id,
            eventId: d.eventId,
            endpointId: d.endpointId,
            attempts: d.attempts,
            status: outcome.status,
            error: outcome.error,
          };
          if (result === 'delivered') app.log.info(line, 'webhook delivered');
          else if (result === 'retry') app.log.warn(line, 'webhook not delivered; will retry');
          else app.log.error(line, 'webhook could not be delivered; giving up');
        },
        error: (err) => app.log.error({ event: 'webhook_worker_error', err }, 'webhook poll failed; will retry'),
      },
    );
    app.decorate('webhookWorker', worker);
    if (purgeInterval > 0) {
      let purging: Promise<unknown> = Promise.resolve();
      const purge = setInterval(() => {
        const before = new Date(services.clock.now().getTime() - purgeAfterDays * 86_400_000);
        purging = services.webhooks.deliveries
          .purge(before)
          .then((n) => {
            if (n > 0) app.log.info({ event: 'webhook_purge', deliveries: n }, 'purged finished webhook deliveries');
          })
          .catch((err: unknown) =>
            app.log.error({ event: 'webhook_purge_failed', err }, 'webhook purge failed; will retry'),
          );
      }, purgeInterval * 1000);
      purge.unref();
      app.addHook('onClose', async () => {
        clearInterval(purge);
        await purging;
      });
    }
    app.addHook('onReady', async () => worker.start());
    app.addHook('onClose', () => worker.stop());
  },
  { name: 'tessera-webhook-worker', dependencies: ['tessera-metrics'] },
);
