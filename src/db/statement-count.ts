// How many statements this process has sent to its database, Prisma's and the raw hot-path ones alike
// (BEGIN and COMMIT included: each is a round trip). Exported as tessera_db_statements_total, it lets the
// load benchmark and its CI smoke (bench/load/, test/system/bench-load.test.ts) check "one statement per
// refresh" as a count that does not depend on the machine's speed. Counting is one increment per statement.
import type pg from 'pg';
import type { PGlite, Transaction } from '@electric-sql/pglite';

export interface StatementCount {
  value: number;
}

/** Counts every statement sent on the pool's connections (pool.query and Prisma's client.query alike). */
export function countPoolStatements(pool: pg.Pool, count: StatementCount): void {
  pool.on('connect', (client: pg.PoolClient) => {
    // The prototype's query looked up on each call, not captured: whatever wraps it later still sees every call.
    const proto = Object.getPrototypeOf(client) as { query: (...args: unknown[]) => unknown };
    (client as { query: unknown }).query = (...args: unknown[]) => {
      count.value++;
      return proto.query.apply(client, args);
    };
  });
}

/**
 * What Prisma's PGlite adapter uses of a PGlite (query, exec, transaction), counting each statement;
 * a transaction's own statements are counted through the transaction object it hands out.
 */
export function countingPglite(pglite: PGlite, count: StatementCount): PGlite {
  const tx = (inner: Transaction): Transaction => ({
    query: (...args: Parameters<Transaction['query']>) => {
      count.value++;
      return inner.query(...args);
    },
    sql: inner.sql.bind(inner),
    exec: (...args: Parameters<Transaction['exec']>) => {
      count.value++;
      return inner.exec(...args);
    },
    rollback: () => inner.rollback(),
    listen: inner.listen.bind(inner),
    get closed() {
      return inner.closed;
    },
  });
  const wrapper = {
    query: (...args: Parameters<PGlite['query']>) => {
      count.value++;
      return pglite.query(...args);
    },
    exec: (...args: Parameters<PGlite['exec']>) => {
      count.value++;
      return pglite.exec(...args);
    },
    transaction: <T>(callback: (t: Transaction) => Promise<T>) => {
      count.value += 2; // BEGIN and COMMIT (or ROLLBACK)
      return pglite.transaction((inner) => callback(tx(inner)));
    },
  };
  return wrapper as unknown as PGlite;
}
