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
import { ServiceClients, parseClientEntry } from './domain/service-clients.js';
import { Sessions } from './domain/sessions.js';
import { TokenIntrospection } from './domain/token-introspection.js';

export interface Services {
  config: Config;
  clock: Clock;
  database: Database;
  keys: KeyStore;
  passwords: PasswordHasher;
  accounts: Accounts;
  accessTokens: AccessTokens;
  rotation: RefreshRotation;
  sessions: Sessions;
  introspection: TokenIntrospection;
  serviceClients: ServiceClients;
}

export function createServices(config: Config, clock: Clock, database: Database, keys: KeyStore, throttleStore: ThrottleStore): Services {
  const passwords = new PasswordHasher(config.argon2);
  const accessTokens = new AccessTokens(
    keys,
    { issuer: config.issuer, audience: config.audience, clientId: config.clientId, ttlSeconds: config.accessTokenTtl },
    clock,
  );
  return {
    config,
    clock,
    database,
    keys,
    passwords,
    accounts: new Accounts(database.prisma, passwords, clock, throttleStore),
    accessTokens,
    sessions: new Sessions(database.prisma, clock),
    introspection: new TokenIntrospection(database.prisma, accessTokens, clock, config.issuer),
    serviceClients: new ServiceClients(config.serviceClients.map(parseClientEntry)),
    rotation: new RefreshRotation(
      database.prisma,
      {
        refreshTokenTtlSeconds: config.refreshTokenTtl,
        reuseGraceSeconds: config.refreshReuseGrace,
        sessionMaxAgeSeconds: config.sessionMaxAge,
        sessionIdleSeconds: config.sessionIdle,
      },
      clock,
    ),
  };
}
