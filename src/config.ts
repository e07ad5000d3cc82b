// The one place configuration is read: environment variables, validated at boot.
// A bad value stops the process with a message that names the variable.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import proxyAddr from '@fastify/proxy-addr';
import envSchema from 'env-schema';
import { Type, type Static } from 'typebox';
import { ClientListError, parseClientEntry } from './domain/tokens/service-clients.js';
import { ACCESS_TOKEN_ALGORITHMS, DEFAULT_ACCESS_TOKEN_TTL_SECONDS } from '@tessera/verify/contract';
import { MailEnvFields, mailConfig, type MailConfig } from './config-mail.js';
import { ResourceEnvFields, resourceConfig, type ResourceConfig } from './config-resources.js';
import { AuthorizationEnvFields, authorizationConfig, type AuthorizationConfig } from './config-authorization.js';
import { normalizeEmail } from './domain/accounts/emails.js';
import { ProviderListError, parseProviders, type ProviderSettings } from './domain/federation/providers.js';
import type { DatabaseTimeouts } from './db/open.js';
import { WebauthnEnvFields, webauthnConfig, type WebauthnConfig } from './config-webauthn.js';

/** A string from a fixed list, as JSON Schema `enum` (one clear error instead of one per literal). */
const OneOf = <T extends string>(values: readonly T[], fallback: T) =>
  Type.Unsafe<T>({ type: 'string', enum: values, default: fallback });

export const EnvSchema = Type.Object({
  NODE_ENV: OneOf(['development', 'production', 'test'] as const, 'development'),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.String({ pattern: '^(postgres(ql)?://|pglite:).+', default: 'pglite:./data' }),
  // PostgreSQL only: how long a request waits for a pooled connection, and for one statement.
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 5000 }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 5000 }),
  // No default here: it follows PORT (below), and production must name its public origin.
  ISSUER: Type.Optional(Type.String({ pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$' })),
  AUDIENCE: Type.String({ pattern: '^\\s*[^\\s,]+\\s*(,\\s*[^\\s,]+\\s*)*$', default: 'tessera' }),
  CLIENT_ID: Type.String({ pattern: '^[\\x21-\\x7e]+$', default: 'tessera' }),
  KEYS_DIR: Type.String({ minLength: 1, default: 'keys' }),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 86400, default: DEFAULT_ACCESS_TOKEN_TTL_SECONDS }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 31536000, default: 604800 }),
  REFRESH_REUSE_GRACE_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 10 }),
  JWKS_MAX_AGE_SECONDS: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }),
  SIGNING_ALG: OneOf(ACCESS_TOKEN_ALGORITHMS, 'RS256'),
  KEY_ROTATION_DAYS: Type.Integer({ minimum: 0, maximum: 3650, default: 0 }),
  KEYS_RELOAD_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
  SESSION_MAX_AGE_SECONDS: Type.Integer({ minimum: 300, maximum: 31536000, default: 2592000 }),
  SESSION_IDLE_SECONDS: Type.Integer({ minimum: 300, maximum: 31536000, default: 604800 }),
  // How recent a sign-in must be to stand in for the password (src/domain/accounts/recent-auth.ts).
  RECENT_LOGIN_SECONDS: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }),
  PURGE_INTERVAL_SECONDS: Type.Integer({ minimum: 0, maximum: 86400, default: 3600 }),
  PURGE_AFTER_DAYS: Type.Integer({ minimum: 0, maximum: 3650, default: 7 }),
  AUDIT_RETENTION_DAYS: Type.Integer({ minimum: 0, maximum: 36500, default: 365 }),
  SERVICE_CLIENTS: Type.String({ default: '' }),
  SERVICE_CLIENTS_FILE: Type.String({ default: '' }),
  // argon2id cost; OWASP's minimum (19 MiB, t=2, p=1) is the floor.
  ARGON2_MEMORY_KIB: Type.Integer({ minimum: 19456, maximum: 4194304, default: 19456 }),
  ARGON2_TIME_COST: Type.Integer({ minimum: 2, maximum: 100, default: 2 }),
  ARGON2_PARALLELISM: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
  REDIS_URL: Type.String({ pattern: '^(rediss?://.+)?$', default: '' }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 100000, default: 20 }),
  // client_credentials tokens each service client may get per minute (0: no limit).
  TOKEN_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 100000, default: 120 }),
  // /admin requests per minute per caller (admin user or service client) and per client address (0: no limit).
  ADMIN_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 100000, default: 120 }),
  CORS_ORIGINS: Type.String({ default: '' }),
  // Sign in with a provider (src/domain/federation/): the providers, and where a sign-in may return to.
  IDENTITY_PROVIDERS_FILE: Type.String({ default: '' }),
  RETURN_TO_ORIGINS: Type.Optional(Type.String()),
  TRUST_PROXY: Type.String({ default: '' }),
  // Slow clients: each holds a connection (and its memory) only this long. Node checks once a second.
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 10000 }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 10000 }),
  CONNECTION_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 30000 }),
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 72000 }),
  HSTS_MAX_AGE_SECONDS: Type.Integer({ minimum: 0, maximum: 63072000, default: 15552000 }),
  COOKIE_DOMAIN: Type.String({ pattern: '^(\\.?[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*)?$', default: '' }),
  WORKERS: Type.String({ pattern: '^(auto|[1-9][0-9]{0,2})$', default: '1' }),
  // Bearer token a Prometheus scraper presents at /metrics; unset = no /metrics route.
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 32, maxLength: 256, pattern: '^[A-Za-z0-9._~+/=-]+$' })),
  // Default: on, except in production.
  API_DOCS: Type.Optional(Type.Unsafe<'true' | 'false'>({ type: 'string', enum: ['true', 'false'] })),
  // The first admin, granted at boot while no account is admin (src/domain/authz/bootstrap-admin.ts).
  BOOTSTRAP_ADMIN_EMAIL: Type.Optional(Type.String({ maxLength: 320 })),
  // API keys (src/domain/api-keys/): expiry when none is asked, the longest allowed, and per-minute limits of
  // uses per key and of API-key presentations per client address (counted before the lookup; 0: no limit).
  API_KEY_DEFAULT_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 157680000, default: 7776000 }),
  API_KEY_MAX_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 157680000, default: 31536000 }),
  API_KEY_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 1000000, default: 60 }),
  API_KEY_ADDRESS_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 1000000, default: 300 }),
  LOG_LEVEL: OneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  // Email flows (src/config-mail.ts).
  ...MailEnvFields,
  // Resource indicators and dynamic client registration (src/config-resources.ts).
  ...ResourceEnvFields,
  // Passkeys (src/config-webauthn.ts).
  ...WebauthnEnvFields,
  // The authorization endpoint's front end: pushed requests, the pages' theme (src/config-authorization.ts).
  ...AuthorizationEnvFields,
});
type Env = Static<typeof EnvSchema>;

interface CoreConfig {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  databaseUrl: string;
  issuer: string;
  audience: string[];
  clientId: string;
  keysDir: string;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  refreshReuseGrace: number;
  jwksMaxAge: number;
  /** Algorithm of newly generated signing keys; existing keys keep theirs. */
  signingAlg: Env['SIGNING_ALG'];
  /** Days between automatic key rotations; 0 = rotate by hand (`npm run keys -- rotate`). */
  keyRotationDays: number;
  /** How often each instance re-reads KEYS_DIR, so all instances follow a rotation. */
  keysReloadSeconds: number;
  /** Absolute session lifetime: refreshing never extends a session past createdAt + this. */
  sessionMaxAge: number;
  /** A session not refreshed for this long has ended. */
  sessionIdle: number;
  /**
   * PostgreSQL only: the longest wait for a pooled connection (acquire and connect) and for one statement, so
   * a hung server makes requests fail fast (503) instead of waiting without bound.
   */
  databaseTimeouts: DatabaseTimeouts;
  /** A sign-in at most this many seconds old stands in for the password (email change, linking, first password). */
  recentLoginSeconds: number;
  /** How often each instance runs the purge job (0 = never: another instance runs it). */
  purgeInterval: number;
  /** Ended sessions (and their tokens) are deleted this many days after they ended. */
  purgeAfterDays: number;
  /** Audit rows older than this many days are deleted by the purge job (0 = kept forever). */
  auditRetentionDays: number;
  /** Back ends allowed to call /oauth/introspect and /oauth/revoke: `id:sha256:<hash>` entries. */
  serviceClients: string[];
  logLevel: Env['LOG_LEVEL'];
  /** Browser origins (scheme://host[:port]) allowed to call the API with credentials. */
  corsOrigins: string[];
  /** Identity providers users may sign in with (IDENTITY_PROVIDERS_FILE); secrets resolved. */
  identityProviders: ProviderSettings[];
  /** Origins a sign-in with a provider may send the browser back to (RETURN_TO_ORIGINS, else CORS_ORIGINS). */
  returnToOrigins: string[];
  /**
   * Which peers' X-Forwarded-For is believed: none (false), all (true), the first N hops (a number),
   * or the proxies' addresses/CIDRs (validated with the same parser Fastify uses).
   */
  trustProxy: boolean | number | string[];
  /** Milliseconds; see src/http/server-options.ts for what each bounds. */
  timeouts: { requestMs: number; headersMs: number; connectionMs: number; keepAliveMs: number };
  hstsMaxAge: number;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  /** Requests per minute per client address to each of register, login and refresh; 0 = no limit. */
  rateLimitPerMinute: number;
  tokenRateLimitPerMinute: number;
  adminRateLimitPerMinute: number;
  /** Shared store for rate limits and failed-login throttling; undefined = in memory, per instance. */
  redisUrl: string | undefined;
  cookieDomain: string | undefined;
  /** Processes serving requests (node:cluster); 1 = this process alone. */
  workers: number;
  /** The account made admin at boot while no account is (BOOTSTRAP_ADMIN_EMAIL, normalized). */
  bootstrapAdminEmail: string | undefined;
  /** Serve the API docs page at /docs and the OpenAPI document at /openapi.json. */
  apiDocs: boolean;
  /** GET /metrics answers only `Authorization: Bearer <this>`; undefined = no /metrics route. */
  metricsToken: string | undefined;
  /** Email flows: delivery, templates, links, limits (src/config-mail.ts). */
  mail: MailConfig;
  /** Passkeys (src/config-webauthn.ts); undefined when WEBAUTHN_RP_ID is unset: no passkey routes. */
  webauthn: WebauthnConfig | undefined;
  /** API keys: expiry bounds (seconds) and per-minute limits (0: none). */
  apiKeys: { defaultTtlSeconds: number; maxTtlSeconds: number; perKeyPerMinute: number; perAddressPerMinute: number };
}

/** Everything the service reads: the settings above plus registered resources and dynamic registration. */
export type Config = CoreConfig & ResourceConfig & { authorization: AuthorizationConfig };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadOptions {
  /**
   * false for commands that never answer a client (`keys`): they don't need the public origin, so
   * production doesn't insist on ISSUER for them. Default true.
   */
  serving?: boolean;
}

// env-schema sets additionalProperties on the schema it is given, so it gets its own copy; one copy, made once, so
// that env-schema's Ajv (one per process) compiles the schema once instead of at every loadConfig (tests call it
// hundreds of times: compiling was over a second of each test process).
const ENV_SCHEMA = structuredClone(EnvSchema);

/** Reads and validates configuration from an environment (process.env by default). */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, opts: LoadOptions = {}): Config {
  // Empty strings count as unset, so `PORT= npm start` means the default rather than an error.
  const data = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  let env: Env;
  try {
    env = envSchema<Env>({ schema: ENV_SCHEMA, data, env: false, dotenv: false });
  } catch (err) {
    const message = (err as Error).message
      .split(', ')
      .map((m) => m.replace(/^env\/(\w+) /, '$1 '))
      .join('; ');
    throw new ConfigError(`invalid configuration: ${message}`);
  }
  if (env.ISSUER === undefined && env.NODE_ENV === 'production' && opts.serving !== false) {
    // The default names this machine (localhost): tokens and discovery URLs would point nowhere.
    throw new ConfigError(
      'invalid configuration: ISSUER must be set when NODE_ENV=production: the public origin clients use, like https://auth.example.com',
    );
  }
  const issuer = (env.ISSUER ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    databaseTimeouts: { connectMs: env.DATABASE_CONNECT_TIMEOUT_MS, statementMs: env.DATABASE_STATEMENT_TIMEOUT_MS },
    // localhost, not 127.0.0.1: browsers treat them as different sites, and an SPA served from
    // localhost only keeps a SameSite=Strict cookie from an API it reaches by the same name.
    issuer: (env.ISSUER ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    audience: env.AUDIENCE.split(',').map((a) => a.trim()),
    clientId: env.CLIENT_ID,
    keysDir: env.KEYS_DIR,
    accessTokenTtl: env.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtl: env.REFRESH_TOKEN_TTL_SECONDS,
    refreshReuseGrace: env.REFRESH_REUSE_GRACE_SECONDS,
    jwksMaxAge: env.JWKS_MAX_AGE_SECONDS,
    signingAlg: env.SIGNING_ALG,
    keyRotationDays: env.KEY_ROTATION_DAYS,
    keysReloadSeconds: env.KEYS_RELOAD_SECONDS,
    sessionMaxAge: env.SESSION_MAX_AGE_SECONDS,
    sessionIdle: env.SESSION_IDLE_SECONDS,
    recentLoginSeconds: env.RECENT_LOGIN_SECONDS,
    purgeInterval: env.PURGE_INTERVAL_SECONDS,
    purgeAfterDays: env.PURGE_AFTER_DAYS,
    auditRetentionDays: env.AUDIT_RETENTION_DAYS,
    serviceClients: serviceClientEntries(env.SERVICE_CLIENTS, env.SERVICE_CLIENTS_FILE),
    logLevel: env.LOG_LEVEL,
    corsOrigins: parseOrigins(env.CORS_ORIGINS),
    identityProviders: identityProviders(env.IDENTITY_PROVIDERS_FILE, source, env.NODE_ENV === 'production'),
    returnToOrigins: parseOrigins(
      env.RETURN_TO_ORIGINS ?? env.CORS_ORIGINS,
      env.RETURN_TO_ORIGINS === undefined ? 'CORS_ORIGINS' : 'RETURN_TO_ORIGINS',
    ),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    timeouts: parseTimeouts(env),
    hstsMaxAge: env.HSTS_MAX_AGE_SECONDS,
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    tokenRateLimitPerMinute: env.TOKEN_RATE_LIMIT_PER_MINUTE,
    adminRateLimitPerMinute: env.ADMIN_RATE_LIMIT_PER_MINUTE,
    redisUrl: env.REDIS_URL || undefined,
    argon2: { memoryCost: env.ARGON2_MEMORY_KIB, timeCost: env.ARGON2_TIME_COST, parallelism: env.ARGON2_PARALLELISM },
    cookieDomain: env.COOKIE_DOMAIN || undefined,
    workers: workerCount(env.WORKERS, env.DATABASE_URL, env.REDIS_URL),
    metricsToken: env.METRICS_TOKEN,
    bootstrapAdminEmail: bootstrapAdminEmail(env.BOOTSTRAP_ADMIN_EMAIL),
    apiDocs: env.API_DOCS === undefined ? env.NODE_ENV !== 'production' : env.API_DOCS === 'true',
    mail: mailConfig(env, issuer, (message) => {
      throw new ConfigError(message);
    }),
    // Resource indicators and dynamic client registration.
    ...resourceConfig(env, (message) => {
      throw new ConfigError(message);
    }),
    webauthn: webauthnConfig(env, issuer, (message) => {
      throw new ConfigError(message);
    }),
    apiKeys: apiKeySettings(env),
    // Pushed authorization requests and the pages' theme (src/config-authorization.ts).
    authorization: authorizationConfig(env, (message) => {
      throw new ConfigError(message);
    }),
  };
}

function apiKeySettings(env: Env): Config['apiKeys'] {
  if (env.API_KEY_DEFAULT_TTL_SECONDS > env.API_KEY_MAX_TTL_SECONDS)
    throw new ConfigError('invalid configuration: API_KEY_DEFAULT_TTL_SECONDS must not exceed API_KEY_MAX_TTL_SECONDS');
  return {
    defaultTtlSeconds: env.API_KEY_DEFAULT_TTL_SECONDS,
    maxTtlSeconds: env.API_KEY_MAX_TTL_SECONDS,
    perKeyPerMinute: env.API_KEY_RATE_LIMIT_PER_MINUTE,
    perAddressPerMinute: env.API_KEY_ADDRESS_RATE_LIMIT_PER_MINUTE,
  };
}

/** BOOTSTRAP_ADMIN_EMAIL, as the accounts store addresses; a value that is no address is a boot error. */
function bootstrapAdminEmail(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const email = normalizeEmail(value);
  if (!email) throw new ConfigError('invalid configuration: BOOTSTRAP_ADMIN_EMAIL must be an email address');
  return email;
}

/** WORKERS: a count or `auto` (one per core). Several workers need a shared database and shared limits. */
function workerCount(value: string, databaseUrl: string, redisUrl: string): number {
  const workers = value === 'auto' ? availableParallelism() : Number(value);
  if (workers > 1 && databaseUrl.startsWith('pglite:')) {
    throw new ConfigError(
      'invalid configuration: WORKERS > 1 needs PostgreSQL (DATABASE_URL=postgres://…): the embedded database serves one process',
    );
  }
  if (workers > 1 && !redisUrl) {
    throw new ConfigError(
      'invalid configuration: WORKERS > 1 needs REDIS_URL: without it each worker would keep its own rate limits and login throttles',
    );
  }
  return workers;
}

/** Entries from SERVICE_CLIENTS (comma list) and SERVICE_CLIENTS_FILE (one per line, # comments). */
function serviceClientEntries(inline: string, file: string): string[] {
  const entries = list(inline);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `invalid configuration: SERVICE_CLIENTS_FILE ${file} cannot be read (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    entries.push(
      ...text
        .split('\n')
        .map((l) => l.replace(/#.*/, '').trim())
        .filter(Boolean),
    );
  }
  for (const entry of entries) {
    try {
      parseClientEntry(entry);
    } catch (err) {
      if (err instanceof ClientListError)
        throw new ConfigError(`invalid configuration: SERVICE_CLIENTS: ${err.message}`);
      throw err;
    }
  }
  return entries;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** IDENTITY_PROVIDERS_FILE: a JSON array of providers (src/domain/federation/providers.ts). */
function identityProviders(file: string, source: NodeJS.ProcessEnv, production: boolean): ProviderSettings[] {
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `invalid configuration: IDENTITY_PROVIDERS_FILE ${file} cannot be read (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  try {
    return parseProviders(text, source, production);
  } catch (err) {
    if (err instanceof ProviderListError)
      throw new ConfigError(
        `invalid configuration: IDENTITY_PROVIDERS_FILE${err.message.startsWith('[') ? '' : ' '}${err.message}`,
      );
    throw err;
  }
}

function parseOrigins(value: string, variable = 'CORS_ORIGINS'): string[] {
  return list(value).map((origin) => {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    // Exact origins only: no wildcard, no path. A wildcard with credentials would hand any site the session.
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError(
        `invalid configuration: ${variable} entry ${JSON.stringify(origin)} is not an exact origin like https://app.example.com`,
      );
    }
    return url.origin;
  });
}

function parseTrustProxy(value: string): boolean | number | string[] {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  if (/^\d{1,2}$/.test(v)) return Number(v);
  const entries = list(value);
  // Compiled here with Fastify's own parser, so anything Fastify would refuse (or read differently) stops the boot.
  const addressLike = entries.every(
    (e) => /^(loopback|linklocal|uniquelocal)$/.test(e) || isIP(e.split('/', 1)[0]!) !== 0,
  );
  try {
    if (!addressLike) throw new TypeError('not an address');
    proxyAddr.compile(entries);
  } catch {
    throw new ConfigError(
      `invalid configuration: TRUST_PROXY must be true, false, a hop count (0-99), or a comma list of proxy addresses/CIDRs (got ${JSON.stringify(value)})`,
    );
  }
  return entries;
}

function parseTimeouts(env: Env): Config['timeouts'] {
  // Node refuses a headers timeout longer than the request timeout; say so in our own words.
  if (env.HEADERS_TIMEOUT_MS > env.REQUEST_TIMEOUT_MS) {
    throw new ConfigError('invalid configuration: HEADERS_TIMEOUT_MS must not exceed REQUEST_TIMEOUT_MS');
  }
  return {
    requestMs: env.REQUEST_TIMEOUT_MS,
    headersMs: env.HEADERS_TIMEOUT_MS,
    connectionMs: env.CONNECTION_TIMEOUT_MS,
    keepAliveMs: env.KEEP_ALIVE_TIMEOUT_MS,
  };
}
