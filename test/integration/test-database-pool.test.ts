// The tests' recycled PGlite instances (test/pglite-pool.ts) must look fresh to the next test: every table empty,
// sequences restarted, and the schema exactly as migrated. An instance a test changed the schema of is closed,
// not handed on, whatever kind of change it was; one that only held rows is emptied and reused.
// ci: embedded database only.
import t, { type Test } from 'tap';
import type { PGlite } from '@electric-sql/pglite';
import { migratedPglite, releasePglite } from '../pglite-pool.js';

/**
 * Takes an instance, lets `use` work on it, gives it back: whether the next one taken is the same instance. The
 * next one goes back to the pool when the test ends, or is closed if `changed` says it must not be reused (so a
 * broken check fails here without handing the change on to later tests in the same process).
 */
async function reusedAfter(
  t: Test,
  use: (db: PGlite) => Promise<unknown>,
  changed = false,
): Promise<{ reused: boolean; next: PGlite }> {
  const db = await migratedPglite();
  await use(db);
  await releasePglite(db);
  const next = await migratedPglite();
  const reused = next === db;
  t.teardown(() => (changed && reused ? next.close() : releasePglite(next)));
  return { reused, next };
}

const count = async (db: PGlite, table: string) =>
  Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);

t.test('rows alone: the instance is emptied and reused', async (t) => {
  const { reused, next } = await reusedAfter(t, (db) =>
    db.exec(
      `INSERT INTO users (id, email, created_at, updated_at) VALUES (gen_random_uuid(), 'a@example.com', now(), now())`,
    ),
  );
  t.ok(reused, 'the same instance comes back');
  t.equal(await count(next, 'users'), 0, 'with its tables empty');
});

t.test('many rows: the instance is truncated as well, and still reused', async (t) => {
  const { reused, next } = await reusedAfter(t, (db) =>
    db.exec(`INSERT INTO audit_events (type, created_at) SELECT 'test', now() FROM generate_series(1, 1500)`),
  );
  t.ok(reused, 'the same instance comes back');
  t.equal(await count(next, 'audit_events'), 0, 'with its tables empty');
});

t.test('a schema change rolled back with its transaction leaves the instance reusable', async (t) => {
  const { reused } = await reusedAfter(t, (db) =>
    db.exec('BEGIN; ALTER TABLE users ADD COLUMN nickname text; ROLLBACK'),
  );
  t.ok(reused, 'the same instance comes back');
});

const changes: [string, string][] = [
  ['a column added', 'ALTER TABLE users ADD COLUMN nickname text'],
  [
    'a column added while triggers are off for replication',
    'SET session_replication_role = replica; ALTER TABLE users ADD COLUMN nickname text',
  ],
  ['a role added', 'CREATE ROLE test_role'],
];
for (const [what, sql] of changes) {
  t.test(`${what}: the instance is closed, the next test gets a fresh one`, async (t) => {
    const { reused, next } = await reusedAfter(t, (db) => db.exec(sql), true);
    t.notOk(reused, 'another instance comes back');
    t.ok((await count(next, '"_prisma_migrations"')) > 0, 'a migrated one');
  });
}
