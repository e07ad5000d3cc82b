// Starts the outbox worker (src/domain/mail/worker.ts) with the app and stops it on close, after the batch in
// flight is marked (the database closes after this hook). Delivery is SMTP_URL, or in development a folder of
// .eml files whose paths are logged. MAIL_LOG_LINKS (on by default in development only, refused in
// production) also logs the links of each development message: the one place a token reaches a log, on
// purpose, so that `npm start` alone can walk through every flow.
import fp from 'fastify-plugin';
import { OutboxWorker } from '../domain/mail/worker.js';
import { folderTransport, smtpTransport } from '../domain/mail/transport.js';
import type { Services } from '../services.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The outbox worker, when email flows are on (tests call runOnce). */
    mailWorker?: OutboxWorker;
  }
}

const LINK = /https?:\/\/\S+/g;

export default fp<{ services: Services }>(
  async (app, { services }) => {
    const { mail, issuer } = services.config;
    const recovery = services.recovery;
    if (!recovery) return;
    const transport = mail.smtpUrl ? smtpTransport(mail.smtpUrl) : folderTransport(mail.outboxDir);
    const logLinks = mail.logLinks && !mail.smtpUrl;
    const worker = new OutboxWorker(
      recovery.outbox,
      transport,
      {
        pollIntervalMs: mail.pollIntervalMs,
        maxAttempts: mail.maxAttempts,
        from: mail.from,
        messageIdDomain: new URL(issuer).hostname,
      },
      services.clock,
      {
        sent: (m, file) => {
          app.log.info(
            { event: 'mail_sent', kind: m.kind, outboxId: m.id, attempts: m.attempts, ...(file ? { file } : {}) },
            'mail sent',
          );
          if (logLinks)
            app.log.info(
              { event: 'mail_links', kind: m.kind, outboxId: m.id, links: m.text.match(LINK) ?? [] },
              'development mail links (MAIL_LOG_LINKS)',
            );
        },
        failed: (m, error, gaveUp) => {
          const line = {
            event: gaveUp ? 'mail_given_up' : 'mail_failed',
            kind: m.kind,
            outboxId: m.id,
            attempts: m.attempts,
            error,
          };
          if (gaveUp) app.log.error(line, 'mail could not be delivered; giving up');
          else app.log.warn(line, 'mail not delivered; will retry');
        },
        error: (err) => app.log.error({ event: 'mail_worker_error', err }, 'outbox poll failed; will retry'),
      },
    );
    app.decorate('mailWorker', worker);
    // Sent messages and spent tokens go with the purge job's schedule and retention (src/plugins/purge-job.ts).
    const { purgeInterval, purgeAfterDays } = services.config;
    if (purgeInterval > 0) {
      let purging: Promise<unknown> = Promise.resolve();
      const purge = setInterval(() => {
        const before = new Date(services.clock.now().getTime() - purgeAfterDays * 86_400_000);
        purging = recovery.outbox
          .purge(before)
          .then((n) => {
            if (n.messages + n.tokens > 0)
              app.log.info({ event: 'mail_purge', ...n }, 'purged sent mail and expired email tokens');
          })
          .catch((err: unknown) => app.log.error({ event: 'mail_purge_failed', err }, 'mail purge failed; will retry'));
      }, purgeInterval * 1000);
      purge.unref();
      app.addHook('onClose', async () => {
        clearInterval(purge);
        await purging;
      });
    }
    app.addHook('onReady', async () => {
      worker.start();
      app.log.info(
        { event: 'mail_worker_started', delivery: mail.smtpUrl ? 'smtp' : `folder ${mail.outboxDir}` },
        'mail worker started',
      );
    });
    app.addHook('onClose', () => worker.stop());
  },
  { name: 'tessera-mail-worker' },
);
