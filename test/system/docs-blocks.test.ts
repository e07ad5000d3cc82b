// Blocks of shell commands from the docs, run as written with bash: the OpenAPI listing of docs/spa.md, the
// API-key script of docs/oauth-apps.md, the roles commands of docs/admin.md, the refresh-key rotation and the
// signing-key commands of docs/keys.md. Each is found by its first line (docs marks it `<!-- run by … -->`, which
// test/unit/docs-commands.test.ts holds to this file); only the documented address, http://localhost:3000,
// is replaced by the test server's. Then what the service saw is checked, not just the exit code.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import { ManualClock, buildTestApp, login, register, tempDir, testConfig, uniqueEmail } from '../helper.js';
import { meta } from '../authz-fixtures.js';
import { bash, block, DOCUMENTED } from '../doc-shell.js';

// npm and tsx start per command: minutes on a loaded machine.
t.setTimeout(900_000);

t.test('docs/spa.md: the OpenAPI one-liner lists the paths of the document', async (t) => {
  const { app } = await buildTestApp(t);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const script = (await block('docs/spa.md', 'curl -s localhost:3000/openapi.json')).replace(
    'localhost:3000',
    address.replace('http://', ''),
  );
  const r = await bash(script, {});
  t.equal(r.code, 0, `the one-liner exits 0 (stderr: ${r.stderr.slice(0, 300)})`);
  const paths = r.stdout.trim().split('\n');
  for (const p of ['/auth/login', '/auth/refresh', '/oauth/token', '/admin/users'])
    t.ok(paths.includes(p), `a reader sees ${p} in the list`);
});

t.test('docs/oauth-apps.md: the API-key script makes, lists, exchanges, rolls and revokes a key', async (t) => {
  const { app } = await buildTestApp(t);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const { user, email } = await register(app, uniqueEmail());
  await app.services.roles.grant(user.id, 'reports:read', { kind: 'cli' }, meta);
  const { accessToken } = await login(app, email);
  const script = (await block('docs/oauth-apps.md', `TESSERA=${DOCUMENTED}`)).replace(DOCUMENTED, address);
  const r = await bash(script, { AT: accessToken });
  t.equal(r.code, 0, `the script exits 0 (stderr: ${r.stderr.slice(0, 300)})`);
  t.match(
    r.stdout.trim(),
    /^\{"id":"[0-9A-Za-z]{12}","name":"nightly report","last_used_at":null\}$/,
    'the list shows the new key by id and name, unused',
  );
  const keys = await app.services.database.prisma.apiKey.findMany({ where: { userId: user.id } });
  t.equal(keys.length, 2, 'the key and the one that replaced it');
  t.equal(keys.filter((k) => k.revokedAt !== null).length, 1, 'the new key is revoked, as the last step says');
  const rolls = await app.services.database.prisma.auditEvent.count({
    where: { userId: user.id, type: 'api_key_rolled' },
  });
  t.equal(rolls, 1, 'the roll is audited');
  t.ok(
    keys.some((k) => k.lastUsedAt !== null),
    'the exchange used the first key: a script gets its access token this way',
  );
});

t.test('docs/admin.md: the roles commands grant, revoke and list on the database', async (t) => {
  const dir = await tempDir(t);
  const url = `pglite:${path.join(dir, 'data')}`;
  const config = testConfig({ DATABASE_URL: url, KEYS_DIR: path.join(dir, 'keys') });
  let app = await buildApp({ config, clock: new ManualClock(new Date()) });
  await register(app, 'alice@example.com');
  // The embedded database serves one process: the commands run with the service stopped, as the page says.
  await app.close();
  const r = await bash(await block('docs/admin.md', 'npm run users -- grant alice@example.com admin'), {
    DATABASE_URL: url,
  });
  t.equal(r.code, 0, `the three commands exit 0 (stderr: ${r.stderr.slice(0, 300)})`);
  t.match(r.stdout, /alice@example\.com.*admin/, '`list` shows alice with the role admin');
  app = await buildApp({ config, clock: new ManualClock(new Date()) });
  t.teardown(() => app.close());
  const alice = await app.services.database.prisma.user.findUniqueOrThrow({
    where: { email: 'alice@example.com' },
    include: { roles: true },
  });
  t.same(
    alice.roles.map((r) => r.role),
    ['admin'],
    'alice holds admin: the first admin comes from the command line',
  );
});

t.test('docs/keys.md: the refresh-key rotation adds a key beside the one in use and lists both', async (t) => {
  const keys = await tempDir(t, 'tessera-docs-keys-');
  // A deployment's folder: the first keys, as `npm run keys -- generate` makes them.
  const made = await bash('npm run -s keys -- generate', { KEYS_DIR: keys });
  t.equal(made.code, 0, `generate exits 0 (stderr: ${made.stderr.slice(0, 300)})`);
  const refreshKeys = async () => (await readdir(keys)).filter((f) => /^refresh-.*\.key$/.test(f));
  const before = await refreshKeys();
  const r = await bash(await block('docs/keys.md', 'npm run keys -- rotate-refresh'), { KEYS_DIR: keys });
  t.equal(r.code, 0, `rotate-refresh, list and prune exit 0 (stderr: ${r.stderr.slice(0, 300)})`);
  const after = await refreshKeys();
  t.equal(after.length, before.length + 1, `one new refresh-token key (${after.join(', ')})`);
  t.ok(
    before.every((f) => after.includes(f)),
    'the key in use stays: tokens it made keep refreshing',
  );
  t.match(r.stdout, /refresh-/, '`list` names the refresh-token keys');
});

t.test('docs/keys.md: the signing-key commands list, rotate, rotate now, retire a listed kid and prune', async (t) => {
  const keys = await tempDir(t, 'tessera-docs-keys-');
  const made = await bash('npm run -s keys -- generate', { KEYS_DIR: keys });
  t.equal(made.code, 0, `generate exits 0 (stderr: ${made.stderr.slice(0, 300)})`);
  const r = await bash(await block('docs/keys.md', 'npm run keys -- list            # kid'), { KEYS_DIR: keys });
  t.equal(r.code, 0, `the six commands exit 0 (stderr: ${r.stderr.slice(0, 300)})`);
  t.match(r.stdout, /-[0-9a-f]{8} retired; published until/, 'retire took the kid the block read from `list`');
  const after = await bash('npm run -s keys -- list', { KEYS_DIR: keys });
  const states = after.stdout.split('\n').filter((l) => / RS256 /.test(l));
  t.equal(states.filter((l) => / active /.test(l)).length, 1, 'one key signs after rotate --now and retire');
  t.equal(states.filter((l) => / next /.test(l)).length, 1, 'a next key waits for the following rotation');
  t.equal(states.filter((l) => / retired /.test(l)).length, 2, 'the emergency-rotated key and the one retired');
});
