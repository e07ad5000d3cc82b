// What an instance does once at boot beyond building the app: grant the first admin (BOOTSTRAP_ADMIN_EMAIL)
// and say out loud what the configuration leaves unusable, so an operator reads it in the first log lines
// instead of meeting it as a 400 later.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import type { Database } from './db/open.js';
import type { Clock } from './domain/clock.js';
import { bootstrapAdmin } from './domain/authz/bootstrap-admin.js';

export async function bootstrapAdminAtBoot(
  log: FastifyBaseLogger,
  config: Config,
  database: Database,
  clock: Clock,
): Promise<void> {
  if (!config.bootstrapAdminEmail) return;
  const { outcome, userId } = await bootstrapAdmin(
    database.sql,
    config.bootstrapAdminEmail,
    clock.now(),
    `boot-${randomUUID()}`,
  );
  if (outcome === 'granted')
    log.warn({ event: 'bootstrap_admin_granted', userId }, 'BOOTSTRAP_ADMIN_EMAIL: the account is now admin');
  else if (outcome === 'admin_exists')
    log.info(
      { event: 'bootstrap_admin_skipped' },
      'BOOTSTRAP_ADMIN_EMAIL: an admin exists already; remove the setting',
    );
  else
    log.warn(
      { event: 'bootstrap_admin_no_account' },
      'BOOTSTRAP_ADMIN_EMAIL: no account has this address yet; register it, then restart to make it admin',
    );
}

/** Settings that boot fine but leave a feature refusing every request. */
export function warnAboutConfig(log: FastifyBaseLogger, config: Config): void {
  if (config.identityProviders.length > 0 && config.returnToOrigins.length === 0)
    log.warn(
      { event: 'return_to_origins_missing', providers: config.identityProviders.map((p) => p.id) },
      'identity providers are configured but RETURN_TO_ORIGINS (or CORS_ORIGINS) is empty: every sign-in with a provider is refused with 400 return_to_invalid until the SPA origin is listed',
    );
}
