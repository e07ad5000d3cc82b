// npm run migrate                 apply pending migrations to DATABASE_URL (default: the embedded ./data)
// npm run migrate:create -- NAME  write prisma/migrations/<timestamp>_NAME from the schema (diffs on a throw-away PGlite)
import { PGlite } from '@electric-sql/pglite';
import {
  applyMigrations,
  createMigration,
  pgliteMigrationFactory,
  postgresMigrationFactory,
} from '../src/db/migrate.js';
import { isPostgresUrl } from '../src/db/open.js';
import { claimDataDir, DataDirError } from '../src/db/data-dir.js';

const [cmd, name] = process.argv.slice(2);

async function factoryFor(url: string) {
  if (isPostgresUrl(url)) return { opened: await postgresMigrationFactory(url), done: async () => {} };
  if (!url.startsWith('pglite:')) throw new Error('DATABASE_URL must start with postgres://, postgresql:// or pglite:');
  const dir = url.slice('pglite:'.length);
  // The same one-process lock as the service (src/db/data-dir.ts): migrating beside a running service would
  // let each keep its own copy of the database and overwrite the other's writes.
  const release = dir === 'memory' ? async () => {} : await claimDataDir(dir);
  try {
    const pglite = await PGlite.create(dir === 'memory' ? undefined : dir);
    return {
      opened: await pgliteMigrationFactory(pglite),
      done: () => pglite.close().finally(release),
    };
  } catch (err) {
    await release();
    throw err;
  }
}

try {
  if (cmd === 'deploy') {
    const { opened, done } = await factoryFor(process.env.DATABASE_URL || 'pglite:./data');
    try {
      const applied = await applyMigrations(opened);
      console.log(
        applied.length
          ? `Applied ${applied.length} migration(s): ${applied.join(', ')}`
          : 'No pending migrations to apply.',
      );
    } finally {
      await done();
    }
  } else if (cmd === 'create') {
    if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('usage: npm run migrate:create -- <name in snake_case>');
    const { opened, done } = await factoryFor('pglite:memory');
    try {
      const dir = await createMigration(opened, name);
      console.log(dir ? `Created ${dir}` : 'Schema and migrations already agree; nothing created.');
    } finally {
      await done();
    }
  } else {
    console.error('usage: tsx scripts/migrate.ts deploy | create <name>');
    process.exitCode = 2;
  }
} catch (e) {
  if (e instanceof DataDirError)
    console.error(`${e.message}; stop the service first (it applies pending migrations itself when it starts)`);
  else console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
}
