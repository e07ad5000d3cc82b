// The raw driver, for the few statements on the hot paths (refresh, /auth/me, introspection).
//
// Prisma's query engine costs more CPU per query than the statement itself; these statements are one
// round trip each, written by hand, and run straight on the driver Prisma uses underneath (the same pg
// pool, or the same PGlite), so there is still one pool and one set of connections. Everything else
// goes through Prisma. Parameters are always bound ($1, $2 …), never spliced into the text.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';

export interface Sql {
  /** Runs one statement and returns its rows. */
  query<R extends object>(text: string, params: readonly unknown[]): Promise<R[]>;
}

/**
 * A failure of a raw statement, marked as coming from the database driver: a bare socket error (ECONNREFUSED
 * while PostgreSQL restarts) means a database outage here, not a client that hung up (src/db/unavailable.ts).
 * The driver's code (SQLSTATE or errno) is kept.
 */
class DatabaseDriverError extends Error {
  override name = 'DatabaseDriverError';
  readonly code: unknown;
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.code = (cause as { code?: unknown } | null)?.code;
  }
}

/**
 * PostgreSQL: every statement here is a named prepared statement (its name derived from its text), so each
 * connection parses and plans it once and then only binds and executes it: the refresh statement's parse and
 * plan cost PostgreSQL more than its execution did, on every refresh. (A pooler in front of PostgreSQL must
 * keep prepared statements per server connection: PgBouncer ≥ 1.21 with max_prepared_statements, or session
 * pooling.)
 */
export function pgSql(pool: pg.Pool): Sql {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (!name) {
      name = `tessera_${createHash('sha256').update(text).digest('base64url').slice(0, 16)}`;
      names.set(text, name);
    }
    return name;
  };
  return {
    async query<R extends object>(text: string, params: readonly unknown[]) {
      try {
        return (await pool.query<R>({ name: nameOf(text), text, values: params as unknown[] })).rows;
      } catch (err) {
        throw new DatabaseDriverError(err);
      }
    },
  };
}

export function pgliteSql(pglite: PGlite): Sql {
  return {
    async query<R extends object>(text: string, params: readonly unknown[]) {
      try {
        return (await pglite.query<R>(text, params as unknown[])).rows;
      } catch (err) {
        throw new DatabaseDriverError(err);
      }
    },
  };
}
