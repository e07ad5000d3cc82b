// Boot runs Prisma's schema engine only when src/db/migrations-current.ts cannot show that every migration is
// applied. These tests hold that check to "current" meaning exactly current: an edited, an unapplied or a failed
// migration must send boot to the engine, never past it.
import t, { type Test } from 'tap';
import { cp, appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { migrationsDir } from '../../src/db/migrate.js';
import { migrationsCurrent } from '../../src/db/migrations-current.js';
import { createTestDatabase, tempDir } from '../helper.js';

async function copyOfMigrations(t: Test): Promise<string> {
  const dir = path.join(await tempDir(t, 'tessera-migrations-'), 'migrations');
  await cp(migrationsDir, dir, { recursive: true });
  return dir;
}

t.test('a database with every migration applied is current, so boot needs no schema engine', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  t.equal(await migrationsCurrent(db.database.sql), true, 'the migrated database is recognised as up to date');
});

t.test('a migration folder the database has not applied is not current', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const dir = await copyOfMigrations(t);
  await mkdir(path.join(dir, '29991231235959_pending'));
  await writeFile(path.join(dir, '29991231235959_pending', 'migration.sql'), 'SELECT 1;\n');
  t.equal(await migrationsCurrent(db.database.sql, dir), false, 'a new migration makes boot run the engine');
});

t.test('a migration edited after it was applied is not current', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const dir = await copyOfMigrations(t);
  const [first] = (await db.database.sql.query<{ name: string }>(
    'SELECT migration_name AS name FROM _prisma_migrations ORDER BY migration_name LIMIT 1',
    [],
  )) as [{ name: string }];
  await appendFile(path.join(dir, first.name, 'migration.sql'), '\n-- edited\n');
  t.equal(await migrationsCurrent(db.database.sql, dir), false, 'a changed checksum is left to the engine to judge');
});

t.test('a failed migration recorded in the database is not current', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  await db.database.sql.query(
    `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
     VALUES ('failed-one', 'x', '29991231235959_failed', now(), 0)`,
    [],
  );
  t.equal(
    await migrationsCurrent(db.database.sql),
    false,
    'a failed migration makes boot run the engine, which reports it',
  );
  await db.database.sql.query(`DELETE FROM _prisma_migrations WHERE id = 'failed-one'`, []);
});

t.test('a database without the migrations table is not current', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const missing = {
    query: <R extends object>(text: string, params: readonly unknown[]) =>
      db.database.sql.query<R>(text.replace('_prisma_migrations', 'no_such_table'), params),
  };
  t.equal(await migrationsCurrent(missing), false, 'an error reading the history sends boot to the engine');
});
