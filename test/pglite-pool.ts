// Test databases on PGlite, made cheap without making them less real.
//
// A fresh PGlite costs seconds of CPU before the first test query: initdb, then the migrations through the
// wasm schema engine. Loading a migrated copy (a 24 MB data directory unpacked into memory) still costs half
// of a second. Tests create hundreds of databases, so:
// - The migrations run once per version of them: the migrated data directory is kept in the temp folder
//   under a hash of everything that shapes it (every migration's SQL, src/db/migrate.ts, PGlite's version).
//   Change a migration and the next test process runs the migrations again.
// - Each test process recycles its instances: when a test is done with one, its tables are emptied and its
//   sequences restarted, its session state discarded, and it waits for the next test, which sees exactly what
//   a fresh copy would show. An instance whose schema no longer matches the migrated one (a test changed it),
//   or that can't be reset, is closed instead. Emptying is DELETE, not TRUNCATE: TRUNCATE gives every table and
//   index a new file in PGlite's in-memory file system, several times the cost of deleting the few rows a test
//   leaves (measured in CPU time: 70–270 ms against 15–40 ms, for each of hundreds of tests).
//   After a test that left many rows, TRUNCATE runs as well, so dead rows never pile up in a recycled instance.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import t from 'tap';
import { applyMigrations, migrationsDir, pgliteMigrationFactory } from '../src/db/migrate.js';
import { pgliteStartParams } from '../src/db/pglite-settings.js';

/** Idle instances kept per process: most tests use one or two at a time, a few up to four; each holds a wasm heap. */
const MAX_IDLE = 4;

/** Everything that shapes the migrated data directory; any change makes a new one. */
async function templateKey(): Promise<string> {
  const hash = createHash('sha256');
  // (the package's exports don't include its package.json)
  hash.update(await readFile(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url)));
  hash.update(await readFile(new URL('../src/db/migrate.ts', import.meta.url)));
  hash.update(DDL_COUNTER);
  // How the copy is made (the template databases dropped, the counter added): a change there makes a new one.
  hash.update(migrateFresh.toString());
  for (const entry of (await readdir(migrationsDir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const file = entry.isDirectory()
      ? path.join(migrationsDir, entry.name, 'migration.sql')
      : path.join(migrationsDir, entry.name);
    hash.update(`\n${entry.name}\n`);
    hash.update(await readFile(file).catch(() => ''));
  }
  return hash.digest('hex').slice(0, 16);
}

async function migrateFresh(): Promise<Blob> {
  const db = await PGlite.create();
  try {
    await applyMigrations(await pgliteMigrationFactory(db));
    await db.exec(DDL_COUNTER);
    // Without the template databases, half the files of the copy go: each test instance loads its copy file by
    // file (a 24 MB copy instead of 40 MB, 15% less CPU to load). Tests never create a database on PGlite.
    await db.exec(`UPDATE pg_database SET datistemplate = false WHERE datname IN ('template0', 'template1')`);
    await db.exec('DROP DATABASE template0');
    await db.exec('DROP DATABASE template1');
    await db.exec('CHECKPOINT');
    return await db.dumpDataDir('none');
  } finally {
    await db.close();
  }
}

let template: Promise<Blob> | undefined;

/** The migrated data directory: read from the temp folder, or migrated now and kept there. */
function migratedDataDir(): Promise<Blob> {
  template ??= (async () => {
    const file = path.join(tmpdir(), `tessera-test-pglite-${userInfo().uid}-${await templateKey()}.tar`);
    const kept = await readFile(file).catch(() => undefined);
    if (kept) return new Blob([kept]);
    const dump = await migrateFresh();
    // Written aside, then renamed: a process running at the same time reads a whole file or none.
    const partial = `${file}.${randomBytes(4).toString('hex')}`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 });
    await rename(partial, file);
    return dump;
  })();
  return template;
}

// Whether anything a schema is made of changed since the instance was loaded. The template counts its own DDL:
// an event trigger (created after the migrations, in a schema of its own that the tests never touch) adds one to
// a counter at the end of every CREATE, ALTER, DROP, COMMENT, GRANT… in the database, in the same transaction, so
// a rolled-back change rolls its count back too. It fires whatever `session_replication_role` says (ENABLE
// ALWAYS). What no event trigger sees is compared by row count and newest row's transaction id (a changed row
// carries a newer one): roles and per-role settings (shared catalogs), the event triggers themselves (commands on
// them fire none), and the migration history, a table a test may write to. The tests' own rows (DML, TRUNCATE)
// move none of this. Not seen at all: direct writes to the system catalogs, which no test makes. Equal to the
// template's, or the instance is not reused. (Scanning every schema catalog instead, by count and newest
// transaction id, cost about 8 ms of CPU at each of hundreds of resets per process; rendering the whole schema as
// text, 25-50 ms.)
const DDL_COUNTER = `
  CREATE SCHEMA tessera_test;
  CREATE TABLE tessera_test.ddl_count (n bigint NOT NULL);
  INSERT INTO tessera_test.ddl_count VALUES (0);
  CREATE FUNCTION tessera_test.count_ddl() RETURNS event_trigger LANGUAGE plpgsql
    AS $$ BEGIN UPDATE tessera_test.ddl_count SET n = n + 1; END $$;
  CREATE EVENT TRIGGER tessera_test_ddl ON ddl_command_end EXECUTE FUNCTION tessera_test.count_ddl();
  CREATE EVENT TRIGGER tessera_test_drop ON sql_drop EXECUTE FUNCTION tessera_test.count_ddl();
  ALTER EVENT TRIGGER tessera_test_ddl ENABLE ALWAYS;
  ALTER EVENT TRIGGER tessera_test_drop ENABLE ALWAYS;`;
const SHARED = ['pg_authid', 'pg_db_role_setting', 'pg_event_trigger', 'public."_prisma_migrations"'];
const FINGERPRINT = `SELECT concat_ws(' ', (SELECT n FROM tessera_test.ddl_count), ${SHARED.map(
  (c) => `(SELECT count(*) || ':' || coalesce(max(xmin::text::bigint), 0) FROM ${c})`,
).join(', ')}) AS fingerprint`;

const TABLES = `SELECT format('%I', tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1`;
// What TRUNCATE … RESTART IDENTITY does to the sequences: the next value is the first one again.
const RESTART_SEQUENCES = `SELECT setval(c.oid, s.seqstart, false) FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = 'public'::regnamespace`;
/** Rows deleted at one reset past which the tables are truncated too, for fresh storage. */
const TRUNCATE_AFTER_ROWS = 1000;

/** Each instance's fingerprint as loaded (TRUNCATE moves none of it: see FINGERPRINT). */
const loaded = new WeakMap<PGlite, string>();
/**
 * Each instance's tables as loaded, read once instead of at every reset (pg_tables is a view over the catalogs:
 * reading it cost about as much CPU as emptying every table). A test that added a table changed the fingerprint,
 * and one that dropped one fails its DELETE: either way the instance is closed, not reused.
 */
const tablesOf = new WeakMap<PGlite, string[]>();
const fingerprint = async (db: PGlite) => (await db.query<{ fingerprint: string }>(FINGERPRINT)).rows[0]!.fingerprint;

const idle: PGlite[] = [];
let closing = false;

/** A migrated, empty PGlite: a recycled one when there is one, else a new copy of the template. */
export async function migratedPglite(): Promise<PGlite> {
  const reused = idle.pop();
  if (reused) return reused;
  const db = await PGlite.create({
    loadDataDir: await migratedDataDir(),
    // A loaded data directory starts with recovery, which arms a progress-report timer that keeps an idle
    // instance (and so the test process) alive: report no startup progress. Shared buffers as the service
    // sets them (src/db/pglite-settings.ts): each buffer is touched at start, and tests start hundreds.
    startParams: pgliteStartParams('-c', 'log_startup_progress_interval=0'),
  });
  loaded.set(db, await fingerprint(db));
  tablesOf.set(
    db,
    (await db.query<{ name: string }>(TABLES)).rows.map((r) => r.name),
  );
  return db;
}

/** Takes back an instance a test is done with: emptied and kept for the next test, or closed. */
export async function releasePglite(db: PGlite): Promise<void> {
  if (db.closed) return;
  // Spies a test installed on the instance (test/helper.ts recordStatements) end with the test.
  for (const name of ['query', 'exec', 'transaction'] as const) delete (db as unknown as Record<string, unknown>)[name];
  if (!closing && idle.length < MAX_IDLE && (await reset(db))) {
    idle.push(db);
    return;
  }
  await db.close();
}

async function reset(db: PGlite): Promise<boolean> {
  try {
    // Not inside a transaction (DISCARD ALL refuses to run in one): session settings, prepared statements,
    // temporary tables and advisory locks go.
    await db.exec('DISCARD ALL');
    const tables = tablesOf.get(db);
    if (!tables) return false;
    // One round trip, one transaction; foreign keys are not checked while every table is emptied
    // (session_replication_role skips their triggers).
    const results = await db.exec(
      `BEGIN; SET LOCAL session_replication_role = replica; ${tables.map((name) => `DELETE FROM ${name};`).join(' ')} ${RESTART_SEQUENCES}; COMMIT`,
    );
    const deleted = results.reduce((sum, r) => sum + (r.affectedRows ?? 0), 0);
    if ((await fingerprint(db)) !== loaded.get(db)) return false;
    if (deleted > TRUNCATE_AFTER_ROWS && tables.length > 0) {
      await db.exec(`TRUNCATE ${tables.join(', ')} CASCADE`);
    }
    return true;
  } catch {
    return false;
  }
}

// Close the idle instances as soon as the file's last test is done (tap runs the root teardown then). Waiting for
// 'beforeExit' instead would never come early: a PGlite arms a 10-second wasm timer (setitimer) that keeps the
// event loop busy, so every test process idled up to 10 s after its last test. An unclosed PGlite also makes
// Node exit with code 99. A test that needs an instance after this point gets a fresh copy.
t.teardown(async () => {
  closing = true;
  await Promise.all(idle.splice(0).map((db) => db.close()));
});
