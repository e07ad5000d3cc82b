// Test helpers: a real database per app (PGlite in memory by default; a fresh PostgreSQL database
// per call when TEST_DATABASE_URL is set), a temporary keys folder, a clock tests can move.
import type { FetchOptions } from '../src/domain/oauth/client-document-fetch.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Test } from 'tap';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/open.js';
import { migratedPglite, releasePglite } from './pglite-pool.js';
import { seedKeys } from './key-fixture.js';
import type { Clock } from '../src/domain/clock.js';
import { DOMAIN_REFRESH_COOKIE, REFRESH_COOKIE } from '../src/http/refresh-cookie.js';
import { errorCatalog, type ErrorCode } from '../src/errors.js';

export const postgresUrl = process.env.TEST_DATABASE_URL || undefined;
export const databaseKind = postgresUrl ? 'postgres' : 'pglite';

/** A clock that stands still until a test moves it. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

export interface TestDatabase {
  database: Database;
  /** For PostgreSQL: the URL of this test's own database. */
  url: string;
  /** For PGlite: the instance, so several apps can share it. */
  pglite?: PGlite;
  /** Opens another connection to the same database, as a second instance of the service would. */
  openAnother(): Promise<Database>;
  /**
   * Takes the database away from the app, as an outage would. PostgreSQL: connections are cut and
   * refused until the returned function brings it back. PGlite: the instance is closed for good (null).
   */
  outage(): Promise<(() => Promise<void>) | null>;
  close(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: postgresUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * Each recycled PGlite's Prisma client, kept with it for the next test: a new client parses the schema into
 * its query compiler (about 6 ms of CPU) and compiles each query again on its first use, and tests take
 * hundreds of databases. The client holds nothing of the test before: it is disconnected at the test's end
 * (open transactions rolled back), the pool resets PGlite's session, and its statement count starts at zero.
 */
const databaseOf = new WeakMap<PGlite, Database>();

/**
 * How many transactions are open on the instance now, counted until it goes back to the pool (which removes
 * the count with the other per-test overrides). A test that puts its own `transaction` in place goes uncounted.
 */
function countTransactions(pglite: PGlite): () => number {
  let open = 0;
  const own = Object.getPrototypeOf(pglite).transaction as PGlite['transaction'];
  pglite.transaction = (callback) => {
    open++;
    return own.call(pglite, callback).finally(() => open--) as ReturnType<typeof callback>;
  };
  return () => open;
}

/**
 * A fresh database for one test: PostgreSQL when TEST_DATABASE_URL is set, else PGlite. `embedded`: PGlite
 * whatever TEST_DATABASE_URL says, for a test whose subject is not the database (a package, a process).
 */
export async function createTestDatabase(opts: { embedded?: boolean } = {}): Promise<TestDatabase> {
  if (postgresUrl && !opts.embedded) {
    const name = `tessera_test_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(postgresUrl);
    url.pathname = `/${name}`;
    const database = await openDatabase(url.href);
    const others: Database[] = [];
    return {
      database,
      url: url.href,
      openAnother: async () => {
        const d = await openDatabase(url.href, { migrate: false });
        others.push(d);
        return d;
      },
      outage: async () => {
        await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
        await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
        return () => adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      },
      close: async () => {
        for (const d of others) await d.close();
        await database.close();
        await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
    };
  }
  const pglite = await migratedPglite();
  const openTransactions = countTransactions(pglite);
  let database = databaseOf.get(pglite);
  if (database) database.statements.value = 0;
  else {
    database = await openDatabase('pglite:memory', { pglite, migrate: false });
    databaseOf.set(pglite, database);
  }
  return {
    database,
    url: 'pglite:memory',
    pglite,
    openAnother: () => openDatabase('pglite:memory', { pglite, migrate: false }),
    outage: async () => {
      await pglite.close();
      return null;
    },
    close: async () => {
      // A transaction the test left open (a failed test, a request not awaited) would hold the reset below
      // until its timeout: disconnecting the client rolls it back now, as closing the client did. The client
      // connects again on its next query, keeping what it compiled.
      if (openTransactions()) await database.prisma.$disconnect();
      await releasePglite(pglite);
      // Recycled (emptied, kept for the next test) or closed: the client goes with the instance.
      if (pglite.closed) {
        databaseOf.delete(pglite);
        await database.close();
      }
    },
  };
}

export function testConfig(env: Record<string, string> = {}): Config {
  // Tests send hundreds of requests from one address: no rate limit unless a test asks for one.
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '0',
    ADMIN_RATE_LIMIT_PER_MINUTE: '0',
    ...env,
  });
}

export async function tempDir(t: Test, prefix = 'tessera-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  clock?: ManualClock;
  db?: TestDatabase;
  keysDir?: string;
  /** Collect log lines (as parsed JSON) instead of discarding them. */
  captureLogs?: boolean;
  /**
   * Hash passwords at the cost the configuration names (OWASP's minimum by default), for tests about hashing.
   * Otherwise, unless `env` names an ARGON2_* variable, apps hash at TEST_ARGON2 (far cheaper).
   */
  productionArgon2?: boolean;
  /** How client metadata documents are fetched: a test's loopback fixture and its CA (test/client-document-server.ts). */
  documentFetch?: FetchOptions;
}

/** argon2id at the lowest cost the library takes: for tests that aren't about hashing. Never in a real config. */
export const TEST_ARGON2: Config['argon2'] = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** Builds an app on a fresh database (or the one given) and closes everything at the test's end. */
export async function buildTestApp(t: Test, opts: TestAppOptions = {}) {
  const clock = opts.clock ?? new ManualClock(new Date());
  let keysDir = opts.keysDir;
  if (keysDir === undefined) {
    keysDir = await tempDir(t, 'tessera-keys-');
    // The shared pre-generated RSA keys; other algorithms are cheap to generate and stay generated.
    if ((opts.env?.SIGNING_ALG ?? 'RS256') === 'RS256') await seedKeys(keysDir, clock.now());
  }
  const logs: Record<string, unknown>[] = [];
  const rawLogs: string[] = [];
  let logStream: PassThrough | undefined;
  if (opts.captureLogs) {
    logStream = new PassThrough();
    logStream.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        rawLogs.push(line);
        logs.push(JSON.parse(line));
      }
    });
  }
  const named = testConfig({ KEYS_DIR: keysDir, ...(opts.captureLogs ? { LOG_LEVEL: 'info' } : {}), ...opts.env });
  const ownArgon2 = opts.productionArgon2 || Object.keys(opts.env ?? {}).some((name) => name.startsWith('ARGON2_'));
  const config: Config = ownArgon2 ? named : { ...named, argon2: TEST_ARGON2 };
  // After the config: a test of a refused setting gets its ConfigError without taking a database.
  const db = opts.db ?? (await createTestDatabase());
  if (!opts.db) t.teardown(() => db.close());
  const app = await buildApp({
    config,
    clock,
    database: db.database,
    ...(logStream ? { logStream } : {}),
    ...(opts.documentFetch ? { documentFetch: opts.documentFetch } : {}),
  });
  t.teardown(() => app.close());
  return { app, clock, db, keysDir, config, logs, rawLogs };
}

export type TestApp = Awaited<ReturnType<typeof buildTestApp>>['app'];

export const PASSWORD = 'correct horse battery staple';
let emailCounter = 0;
export function uniqueEmail(): string {
  return `user${++emailCounter}-${randomBytes(3).toString('hex')}@example.com`;
}

export async function register(app: TestApp, email = uniqueEmail(), password = PASSWORD) {
  const res = await app.inject({ method: 'POST', url: '/auth/register', payload: { email, password } });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  return { email, password, user: res.json().user as { id: string; email: string; created_at: string } };
}

export { REFRESH_COOKIE, DOMAIN_REFRESH_COOKIE };

/** The refresh token from a response's Set-Cookie (either name: with or without COOKIE_DOMAIN), if any. */
export function refreshCookieOf(res: { cookies: { name: string; value: string }[] }): string | undefined {
  return res.cookies.find((c) => (c.name === REFRESH_COOKIE || c.name === DOMAIN_REFRESH_COOKIE) && c.value !== '')
    ?.value;
}

export async function login(app: TestApp, email: string, password = PASSWORD, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, headers });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const refresh = refreshCookieOf(res);
  if (!refresh) throw new Error('login set no refresh cookie');
  return { accessToken: res.json().access_token as string, refresh, res };
}

/** Registers a user and logs in. */
export async function session(app: TestApp) {
  const reg = await register(app);
  return { ...reg, ...(await login(app, reg.email)) };
}

export function refresh(app: TestApp, token: string | undefined) {
  return app.inject({
    method: 'POST',
    url: '/auth/refresh',
    ...(token !== undefined ? { cookies: { [REFRESH_COOKIE]: token } } : {}),
  });
}

export function me(app: TestApp, accessToken: string) {
  return app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${accessToken}` } });
}

/** The mail and webhook workers' timer-driven probe for due work (src/domain/outbox-lease.ts). */
const WORKER_PROBE = /^SELECT 1 FROM (mail_outbox|webhook_deliveries)\s+WHERE sent_at IS NULL AND failed_at IS NULL/;

/**
 * Records every statement the database driver is asked to run from now on, whoever asks (Prisma or the raw
 * hot-path statements): pg's Client#query for PostgreSQL, PGlite's query/exec/transaction for PGlite.
 * A transaction shows up as "BEGIN". stop() ends the recording and returns the statements.
 *
 * Not recorded: the mail and webhook workers' timer-driven "is anything due?" probe (src/domain/outbox-lease.ts),
 * which no request runs. It fires whenever its timer does, so on a busy machine, where a request takes longer,
 * it landed inside a recording now and then and made a one-statement request look like two.
 */
export function recordStatements(db: TestDatabase): { stop(): string[] } {
  const seen: string[] = [];
  const text = (q: unknown) => (typeof q === 'string' ? q : String((q as { text?: unknown })?.text ?? q)).trim();
  if (db.pglite) {
    const p = db.pglite as unknown as Record<'query' | 'exec' | 'transaction', (...args: unknown[]) => unknown>;
    const originals = { query: p.query, exec: p.exec, transaction: p.transaction };
    p.query = function (this: unknown, ...args: unknown[]) {
      seen.push(text(args[0]));
      return originals.query.apply(this, args);
    };
    p.exec = function (this: unknown, ...args: unknown[]) {
      seen.push(text(args[0]));
      return originals.exec.apply(this, args);
    };
    p.transaction = function (this: unknown, ...args: unknown[]) {
      seen.push('BEGIN');
      return originals.transaction.apply(this, args);
    };
    return {
      stop: () => {
        Object.assign(p, originals);
        return seen.filter((q) => !WORKER_PROBE.test(q));
      },
    };
  }
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    seen.push(text(args[0]));
    return original.apply(this, args);
  };
  return {
    stop: () => {
      proto.query = original;
      return seen.filter((q) => !WORKER_PROBE.test(q));
    },
  };
}

/**
 * Asserts that a reply is the catalog's error `code`: the status the catalog gives it and the code in the body
 * (never the message, which may be reworded). `what` names the case in tap's output.
 */
export function expectError(
  t: Test,
  res: { statusCode: number; body: string },
  code: ErrorCode,
  what: string = code,
): void {
  t.equal(res.statusCode, errorCatalog[code].status, `${what}: status ${errorCatalog[code].status}`);
  let body: { code?: unknown } | undefined;
  try {
    body = JSON.parse(res.body) as { code?: unknown };
  } catch {
    body = undefined;
  }
  t.equal(body?.code, code, `${what}: code ${code}`);
}
