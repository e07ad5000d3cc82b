// The domain services an app instance runs with, built once at boot and handed to the routes.
import type { Config } from './config.js';
import type { Database } from './db/open.js';
import { AccessTokens } from './domain/access-tokens.js';
import { Accounts } from './domain/accounts.js';
import type { Clock } from './domain/clock.js';
import type { KeyStore } from './domain/keys.js';
import type { MacKeyRing } from './domain/refresh-keys.js';
import { RefreshTokens } from './domain/refresh-tokens.js';
import type { ThrottleStore } from './domain/login-throttle.js';
import { PasswordHasher } from './domain/passwords.js';
import { RefreshRotation } from './domain/refresh-rotation.js';
import { ServiceClients, parseClientEntry } from './domain/service-clients.js';
import { Sessions } from './domain/sessions.js';
import { TokenIntrospection } from './domain/token-introspection.js';
import { Federation } from './domain/federation/federation.js';
import { OAuthFlows } from './domain/federation/flows.js';
import { Identities } from './domain/federation/identities.js';

export interface Services {
  config: Config;
  clock: Clock;
  database: Database;
  keys: KeyStore;
  /** The MAC keys of refresh tokens, re-read with the signing keys. */
  refreshKeys: MacKeyRing;
  passwords: PasswordHasher;
  accounts: Accounts;
  accessTokens: AccessTokens;
  rotation: RefreshRotation;
  sessions: Sessions;
  introspection: TokenIntrospection;
  serviceClients: ServiceClients;
  /** Sign in with an identity provider (IDENTITY_PROVIDERS_FILE). */
  federation: Federation;
}

export function createServices(config: Config, clock: Clock, database: Database, keys: KeyStore, refreshKeys: MacKeyRing, throttleStore: ThrottleStore): Services {
  const passwords = new PasswordHasher(config.argon2);
  const accessTokens = new AccessTokens(
    keys,
    { issuer: config.issuer, audience: config.audience, clientId: config.clientId, ttlSeconds: config.accessTokenTtl },
    clock,
  );
  const refreshTokens = new RefreshTokens(refreshKeys);
  const rotation = new RefreshRotation(
    database.prisma,
    database.sql,
    refreshTokens,
    {
      refreshTokenTtlSeconds: config.refreshTokenTtl,
      reuseGraceSeconds: config.refreshReuseGrace,
      sessionMaxAgeSeconds: config.sessionMaxAge,
      sessionIdleSeconds: config.sessionIdle,
    },
    clock,
  );
  return {
    config,
    clock,
    database,
    keys,
    refreshKeys,
    passwords,
    accounts: new Accounts(database.prisma, database.sql, passwords, clock, throttleStore),
    accessTokens,
    sessions: new Sessions(database.prisma, clock),
    introspection: new TokenIntrospection(database.prisma, database.sql, accessTokens, refreshTokens, rotation, clock, config.issuer),
    serviceClients: new ServiceClients(config.serviceClients.map(parseClientEntry)),
    rotation,
    federation: new Federation(
      { issuer: config.issuer, providers: config.identityProviders, returnToOrigins: config.returnToOrigins },
      new OAuthFlows(database.prisma, clock),
      new Identities(database.prisma, clock),
      rotation,
    ),
  };
}
