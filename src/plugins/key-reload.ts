// Keeps this instance's key set current: every KEYS_RELOAD_SECONDS it makes sure a next key is waiting
// (and, with KEY_ROTATION_DAYS, scheduled), then re-reads KEYS_DIR. That is how a rotation made by
// `npm run keys -- rotate` or by another instance reaches every instance without a restart.
// A read-only KEYS_DIR (a mounted secret) is fine: the instance only reads, and says so once.
// The refresh-token MAC keys (src/domain/keys/refresh-keys.ts) are re-read in the same tick.
import fp from 'fastify-plugin';
import { isReadOnlyError } from '../domain/keys/key-files.js';
import { rotationPolicy } from '../domain/keys/key-policies.js';
import { ensureKeys } from '../domain/keys/key-rotation.js';
import type { Services } from '../services.js';

export default fp<{ services: Services }>(
  async (app, { services }) => {
    const { config, keys, clock } = services;
    const policy = rotationPolicy(config);
    let readOnlyReported = false;
    let running = false;
    const tick = async () => {
      if (running) return;
      running = true;
      try {
        const done = await ensureKeys(config.keysDir, clock.now(), policy, { generateIfEmpty: false });
        if (done.length > 0) app.log.info({ event: 'keys_changed', done }, 'key set updated');
      } catch (err) {
        if (isReadOnlyError(err)) {
          if (!readOnlyReported)
            app.log.warn({ event: 'keys_read_only' }, 'KEYS_DIR is read-only: keys are rotated elsewhere');
          readOnlyReported = true;
        } else {
          app.log.error({ event: 'keys_maintenance_failed', err }, 'could not maintain KEYS_DIR; re-reading it anyway');
        }
      }
      // Always re-read, whatever happened above: this is how schedules made elsewhere arrive.
      try {
        const before = keys.signing.kid;
        await keys.reload();
        app.metrics.keyReloads.inc({ outcome: 'ok' });
        if (keys.signing.kid !== before)
          app.log.info({ event: 'key_activated', kid: keys.signing.kid }, 'signing key changed');
      } catch (err) {
        app.metrics.keyReloads.inc({ outcome: 'failed' });
        app.log.error({ event: 'keys_reload_failed', err }, 'could not re-read KEYS_DIR; keeping the current key set');
      }
      try {
        const before = services.refreshKeys.minting.id;
        await services.refreshKeys.reload();
        if (services.refreshKeys.minting.id !== before)
          app.log.info(
            { event: 'refresh_key_activated', keyId: services.refreshKeys.minting.id },
            'refresh-token key changed',
          );
      } catch (err) {
        app.log.error(
          { event: 'keys_reload_failed', err },
          'could not re-read the refresh-token keys in KEYS_DIR; keeping the current ones',
        );
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void tick(), config.keysReloadSeconds * 1000);
    timer.unref();
    app.decorate('reloadKeys', tick);
    app.addHook('onClose', async () => clearInterval(timer));
  },
  // It counts reloads in app.metrics.
  { name: 'tessera-key-reload', dependencies: ['tessera-metrics'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** Runs one key maintenance tick now (tests; the timer does it every KEYS_RELOAD_SECONDS). */
    reloadKeys(): Promise<void>;
  }
}
