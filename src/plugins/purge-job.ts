// Runs the purge (src/domain/sessions/sessions.ts) every PURGE_INTERVAL_SECONDS, so the session and refresh
// token tables don't grow forever, the audit retention (src/domain/audit-retention.ts), the deletion of
// abandoned dynamically registered clients (src/domain/oauth/dynamic-registration.ts) and metadata-document
// clients (src/domain/oauth/client-documents.ts) with their fetch counters, authorization codes expired for a
// day (src/domain/oauth/authorization-codes.ts), the device flow's expired codes and ended guess counters
// (src/domain/oauth/device-codes.ts, device-guesses.ts), and expired passkey challenges. Each instance runs it;
// deletes by several instances at once are harmless.
// A failed run is logged and retried at the next tick; the timer never keeps the process alive.
import fp from 'fastify-plugin';
import type { Services } from '../services.js';

export default fp<{ services: Services }>(
  async (app, { services }) => {
    const { purgeInterval, purgeAfterDays } = services.config;
    if (purgeInterval === 0) return;
    let running = false;
    const run = async () => {
      if (running) return;
      running = true;
      try {
        const purged = await services.sessions.purge(purgeAfterDays);
        const auditEvents = await services.auditRetention.purge();
        const dynamicClients = await services.dynamicRegistrations.purge();
        const deviceCodes = await services.oauth.devices.purge();
        const authorizationCodes = await services.oauth.codes.purge();
        const deviceGuesses = await services.oauth.deviceGuesses.purge();
        const passkeyChallenges = (await services.passkeys?.challenges.purge()) ?? 0;
        const documentClients = (await services.clientDocuments?.purge()) ?? 0;
        const documentFetchCounts = (await services.clientDocuments?.purgeFetchCounts()) ?? 0;
        const total =
          dynamicClients +
          authorizationCodes +
          deviceCodes +
          deviceGuesses +
          passkeyChallenges +
          documentClients +
          documentFetchCounts;
        if (purged.sessions + purged.refreshTokens + auditEvents + total > 0)
          app.log.info(
            {
              event: 'purge',
              ...purged,
              auditEvents,
              dynamicClients,
              authorizationCodes,
              deviceCodes,
              deviceGuesses,
              passkeyChallenges,
              documentClients,
              documentFetchCounts,
            },
            'purged ended sessions, spent tokens and old audit rows',
          );
      } catch (err) {
        app.log.error({ event: 'purge_failed', err }, 'purge failed; will retry');
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void run(), purgeInterval * 1000);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  },
  { name: 'tessera-purge-job' },
);
