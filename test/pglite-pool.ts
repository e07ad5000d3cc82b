// Test databases on PGlite, made cheap without making them less real.
//
// A fresh PGlite costs seconds of CPU before the first test query: initdb, then the migrations through the
// wasm schema engine. Loading a migrated copy (a 40 MB data directory unpacked into memory) still costs most
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

/** Idle instances kept per process: tests use one or two at a time; each holds a wasm heap. */
const MAX_IDLE = 2;

/** Everything that shapes the migrated data directory; any change makes a new one. */
async function templateKey(): Promise<string> {
  const hash = createHash('sha256');
  // (the package's exports don't include its package.json)
  hash.update(await readFile(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url)));
  hash.update(await readFile(new URL('../src/db/migrate.ts', import.meta.url)));
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

// The schema as the catalogs describe it, and the migration history: equal to the template's, or the instance
// is not reused.
const FINGERPRINT = `
  SELECT md5(string_agg(x, E'\\n' ORDER BY x)) AS fingerprint FROM (
    SELECT format('rel %s.%s %s', n.nspname, c.relname, c.relkind) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    UNION ALL SELECT format('col %s.%s %s %s %s', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL SELECT format('con %s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT format('idx %s', pg_get_indexdef(indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL SELECT format('trg %s %s', tgrelid::regclass, tgname) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL SELECT format('fn %s', oid::regprocedure) FROM pg_proc WHERE pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
    UNION ALL SELECT format('set %s', setconfig) FROM pg_db_role_setting
    UNION ALL SELECT format('mig %s %s %s', migration_name, checksum, finished_at) FROM "_prisma_migrations"
  ) AS s(x)`;

const TABLES = `SELECT format('%I', tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1`;
// What TRUNCATE … RESTART IDENTITY does to the sequences: the next value is the first one again.
const RESTART_SEQUENCES = `SELECT setval(c.oid, s.seqstart, false) FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = 'public'::regnamespace`;
/** Rows deleted at one reset past which the tables are truncated too, for fresh storage. */
const TRUNCATE_AFTER_ROWS = 1000;

let expected: Promise<string> | undefined;
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
  expected ??= fingerprint(db);
  await expected;
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
    const tables = (await db.query<{ name: string }>(TABLES)).rows.map((r) => r.name);
    // One round trip, one transaction; foreign keys are not checked while every table is emptied
    // (session_replication_role skips their triggers).
    const results = await db.exec(
      `BEGIN; SET LOCAL session_replication_role = replica; ${tables.map((name) => `DELETE FROM ${name};`).join(' ')} ${RESTART_SEQUENCES}; COMMIT`,
    );
    const deleted = results.reduce((sum, r) => sum + (r.affectedRows ?? 0), 0);
    if (deleted > TRUNCATE_AFTER_ROWS && tables.length > 0) await db.exec(`TRUNCATE ${tables.join(', ')} CASCADE`);
    return (await fingerprint(db)) === (await expected);
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
