// Opens the database named by DATABASE_URL: embedded PGlite (`pglite:<dir>` or `pglite:memory`)
// or PostgreSQL (`postgres://…`), through Prisma driver adapters, applying pending migrations first (Prisma's schema
// engine is loaded only when ./migrations-current.ts finds something to apply).
// The same driver (one pg pool, or the PGlite instance) also serves the raw hot-path statements (./sql.ts).
import { PrismaClient } from '../generated/prisma/client.js';
import { claimDataDir } from './data-dir.js';
import { applyMigrations, pgliteMigrationFactory, postgresMigrationFactory } from './migrate.js';
import { migrationsCurrent } from './migrations-current.js';
import { pgSql, pgliteSql, type Sql } from './sql.js';
import { trimResultParsers } from './pglite-parsers.js';
import { countPoolStatements, countingPglite, type StatementCount } from './statement-count.js';
import type { PGlite } from '@electric-sql/pglite';

export interface Database {
  prisma: PrismaClient;
  /** The driver underneath Prisma, for the hand-written hot-path statements. */
  sql: Sql;
  /** Which kind of database this is, for logs and health. */
  kind: 'pglite' | 'postgres';
  /** PostgreSQL only: the pool's counts, for metrics. */
  pool?: { readonly totalCount: number; readonly idleCount: number; readonly waitingCount: number };
  /** Statements sent so far by this process, Prisma's and the raw ones (./statement-count.ts), for metrics. */
  statements: StatementCount;
  close(): Promise<void>;
}

/** PostgreSQL only: bounds on the waits a hung (not down) server would otherwise make unbounded. */
export interface DatabaseTimeouts {
  /** Waiting for a pooled connection: acquiring one from a full pool, or opening a new one. */
  connectMs: number;
  /** One statement: the server cancels it after this (statement_timeout); the client gives up a second later. */
  statementMs: number;
}

const DEFAULT_TIMEOUTS: DatabaseTimeouts = { connectMs: 5000, statementMs: 5000 };

export interface OpenOptions {
  migrate?: boolean;
  timeouts?: DatabaseTimeouts;
  /** An already open PGlite to use instead of the URL (tests share one between app instances). */
  pglite?: PGlite;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

export async function openDatabase(url: string, opts: OpenOptions = {}): Promise<Database> {
  const migrate = opts.migrate ?? true;
  if (opts.pglite) return openPglite(opts.pglite, migrate, false);
  if (isPostgresUrl(url)) {
    const { PrismaPg } = await import('@prisma/adapter-pg');
    const { default: pg } = await import('pg');
    // One pool for Prisma and the raw statements.
    const { connectMs, statementMs } = opts.timeouts ?? DEFAULT_TIMEOUTS;
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      connectionTimeoutMillis: connectMs,
      // The server's own cancel (SQLSTATE 57014) when it is alive but slow; the client's bound when it does not
      // answer at all (stopped, or a network path that stopped forwarding).
      statement_timeout: statementMs,
      query_timeout: statementMs + 1000,
    });
    // An idle connection the server drops (a restart) emits 'error' on the pool; unhandled, that would end the
    // process. The pool discards that connection and the next query opens a new one (or fails as a 503).
    pool.on('error', () => {});
    const statements: StatementCount = { value: 0 };
    countPoolStatements(pool, statements);
    const sql = pgSql(pool);
    try {
      if (migrate && !(await migrationsCurrent(sql))) await applyMigrations(await postgresMigrationFactory(url));
    } catch (err) {
      await pool.end();
      throw err;
    }
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    return {
      prisma,
      sql,
      kind: 'postgres',
      pool,
      statements,
      close: async () => {
        await prisma.$disconnect();
        await pool.end();
      },
    };
  }
  if (url.startsWith('pglite:')) {
    // Loaded only for the embedded database: a PostgreSQL deployment never loads PGlite's code.
    const { PGlite } = await import('@electric-sql/pglite');
    const { pgliteStartParams } = await import('./pglite-settings.js');
    const dir = url.slice('pglite:'.length);
    // Private (0700) and locked to this process: see data-dir.ts.
    const release = dir === 'memory' ? async () => {} : await claimDataDir(dir);
    try {
      const pglite = await PGlite.create({
        ...(dir === 'memory' ? {} : { dataDir: dir }),
        startParams: pgliteStartParams(),
      });
      const db = await openPglite(pglite, migrate, true);
      return { ...db, close: () => db.close().finally(release) };
    } catch (err) {
      await release();
      throw err;
    }
  }
  throw new Error(`unsupported DATABASE_URL scheme (expected postgres://, postgresql:// or pglite:)`);
}

async function openPglite(pglite: PGlite, migrate: boolean, owned: boolean): Promise<Database> {
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  if (migrate && !(await migrationsCurrent(pgliteSql(pglite))))
    await applyMigrations(await pgliteMigrationFactory(pglite));
  await trimResultParsers(pglite);
  const statements: StatementCount = { value: 0 };
  const counted = countingPglite(pglite, statements);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(counted) });
  return {
    prisma,
    sql: pgliteSql(counted),
    kind: 'pglite',
    statements,
    close: async () => {
      await prisma.$disconnect();
      // An unclosed PGlite makes Node exit with code 99; one we were handed is the caller's to close.
      if (owned) await pglite.close();
    },
  };
}
