// The embedded database's directory: private (0700/0600) and held by one process.
// ci: embedded database only. What this file checks (packages, docs commands, processes on the embedded
// database) does not change with TEST_DATABASE_URL, so CI's PostgreSQL pass leaves it out (.ci/run).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import { spawnTessera } from '../process.js';
import { session, tempDir, testConfig } from '../helper.js';

async function looseModes(dir: string): Promise<string[]> {
  const loose: string[] = [];
  if (((await stat(dir)).mode & 0o077) !== 0) loose.push(dir);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if ((entry.isFile() || entry.isDirectory()) && ((await stat(full)).mode & 0o077) !== 0) loose.push(full);
  }
  return loose;
}

t.test('a new embedded database directory is private to its owner', async (t) => {
  const dataDir = path.join(await tempDir(t), 'data');
  const app = await buildApp({ config: testConfig({ DATABASE_URL: `pglite:${dataDir}`, KEYS_DIR: await tempDir(t) }) });
  t.teardown(() => app.close());
  await session(app);
  t.equal((await stat(dataDir)).mode & 0o777, 0o700, 'a new data directory is created 0700');
  t.same(await looseModes(dataDir), [], 'nothing in it readable by group or others');
});

t.test('an existing world-readable embedded database directory is tightened at boot', async (t) => {
  const dataDir = await tempDir(t);
  const first = await buildApp({
    config: testConfig({ DATABASE_URL: `pglite:${dataDir}`, KEYS_DIR: await tempDir(t) }),
  });
  await session(first);
  await first.close();
  // As an older Tessera left it: 0755 directories, 0644 files.
  await chmod(dataDir, 0o755);
  for (const entry of await readdir(dataDir, { withFileTypes: true, recursive: true })) {
    await chmod(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
  t.not(
    (await looseModes(dataDir)).length,
    0,
    'the setup left the directory readable by others, as an older Tessera did',
  );
  const second = await buildApp({
    config: testConfig({ DATABASE_URL: `pglite:${dataDir}`, KEYS_DIR: await tempDir(t) }),
  });
  t.teardown(() => second.close());
  t.same(await looseModes(dataDir), [], 'every directory 0700, every file 0600');
});

t.test('a second process on the same embedded database refuses to start and names the directory', async (t) => {
  const dataDir = await tempDir(t);
  const keysDir = await tempDir(t);
  const first = await spawnTessera(t, { DATABASE_URL: `pglite:${dataDir}`, KEYS_DIR: keysDir });
  const second = await spawnTessera(
    t,
    { DATABASE_URL: `pglite:${dataDir}`, KEYS_DIR: keysDir },
    { expectListen: false },
  );
  const { code } = await second.exited;
  t.equal(code, 1, 'the second process exits with an error');
  t.match(second.stderr.join(''), dataDir, 'its message names the directory');
  const still = await fetch(`${first.url}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'first@example.com', password: 'correct horse battery staple' }),
  });
  t.equal(still.status, 201, 'the first process is unaffected: it still writes');
  first.child.kill('SIGTERM');
  t.equal((await first.exited).code, 0, 'the first process shuts down cleanly on SIGTERM');
});

t.test('a lock left by a process that died is taken over', async (t) => {
  const dataDir = await tempDir(t);
  await mkdir(dataDir, { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  await writeFile(path.join(dataDir, 'tessera.lock'), `${dead}\n`);
  const app = await buildApp({ config: testConfig({ DATABASE_URL: `pglite:${dataDir}`, KEYS_DIR: await tempDir(t) }) });
  t.teardown(() => app.close());
  t.ok(await session(app), 'the service starts and works');
});

t.test(
  'npm run migrate beside a running service on the same embedded database refuses, saying why, and changes nothing',
  async (t) => {
    const dataDir = await tempDir(t);
    const tessera = await spawnTessera(t, { DATABASE_URL: `pglite:${dataDir}`, KEYS_DIR: await tempDir(t) });
    const migrate = spawnSync('npm', ['run', '--silent', 'migrate'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: `pglite:${dataDir}` },
      encoding: 'utf8',
      timeout: 120_000,
    });
    t.equal(migrate.status, 1, 'npm run migrate exits with an error');
    t.match(
      migrate.stderr,
      `in use by process ${tessera.child.pid}`,
      'its message names the process holding the database',
    );
    t.match(migrate.stderr, /stop the service/, 'and says what to do');
    const still = await fetch(`${tessera.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'migrate@example.com', password: 'correct horse battery staple' }),
    });
    t.equal(still.status, 201, 'the running service is unaffected: it still writes');
    tessera.child.kill('SIGTERM');
    t.equal((await tessera.exited).code, 0, 'the service shuts down cleanly, releasing the lock');
    const after = spawnSync('npm', ['run', '--silent', 'migrate'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: `pglite:${dataDir}` },
      encoding: 'utf8',
      timeout: 120_000,
    });
    t.equal(after.status, 0, `with the service stopped, npm run migrate runs (${after.stderr})`);
    t.match(after.stdout, /No pending migrations/, 'and finds the database up to date');
  },
);
