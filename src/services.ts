// The domain services an app instance runs with, built once at boot and handed to the routes.
import type { Config } from './config.js';
import type { Database } from './db/open.js';
import { AccessTokens } from './domain/access-tokens.js';
import { Accounts } from './domain/accounts.js';
import type { Clock } from './domain/clock.js';
import type { KeyStore } from './domain/keys.js';
import type { ThrottleStore } from './domain/login-throttle.js';
import { PasswordHasher } from './domain/passwords.js';
import { RefreshRotation } from './domain/refresh-rotation.js';

export interface Services {
  config: Config;
  clock: Clock;
  database: Database;
  keys: KeyStore;
  passwords: PasswordHasher;
  accounts: Accounts;
  accessTokens: AccessTokens;
  rotation: RefreshRotation;
}

export function createServices(config: Config, clock: Clock, database: Database, keys: KeyStore, throttleStore: ThrottleStore): Services {
  const passwords = new PasswordHasher(config.argon2);
  return {
    config,
    clock,
    database,
    keys,
    passwords,
    accounts: new Accounts(database.prisma, passwords, clock, throttleStore),
    accessTokens: new AccessTokens(
      keys,
      { issuer: config.issuer, audience: config.audience, clientId: config.clientId, ttlSeconds: config.accessTokenTtl },
      clock,
    ),
    rotation: new RefreshRotation(
      database.prisma,
      { refreshTokenTtlSeconds: config.refreshTokenTtl, reuseGraceSeconds: config.refreshReuseGrace },
      clock,
    ),
  };
}
