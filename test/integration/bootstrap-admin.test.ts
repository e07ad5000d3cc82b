// BOOTSTRAP_ADMIN_EMAIL: the first admin of a container, without a shell or a stopped service. Each boot grants
// `admin` to the named account while no account has it, in one statement with its audit row; instances
// booting at once grant it once. Also the boot warning for providers that no SPA origin may return to.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError } from '../../src/config.js';
import { bootstrapAdmin } from '../../src/domain/authz/bootstrap-admin.js';
import { buildTestApp, createTestDatabase, login, register, tempDir, testConfig, uniqueEmail } from '../helper.js';
import { meta } from '../authz-fixtures.js';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

async function sharedDb(t: Test): Promise<TestDb> {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  // buildTestApp closes each app at the test's end; the database closes after them (teardowns run in order).
  return db;
}

async function bootstrapRows(db: TestDb) {
  const roles = await db.database.sql.query<{ user_id: string; granted_by: string }>(
    `SELECT user_id, granted_by FROM user_roles WHERE role = 'admin'`,
    [],
  );
  const audits = await db.database.sql.query<{ user_id: string; reason: string }>(
    `SELECT user_id, reason FROM audit_events WHERE type = 'role_granted'`,
    [],
  );
  return { roles, audits };
}

t.test('the named account becomes admin at boot, once, with an audit row, and can then use /admin', async (t) => {
  const db = await sharedDb(t);
  const { app: first } = await buildTestApp(t, { db });
  const { email, user } = await register(first);

  const { app, logs } = await buildTestApp(t, {
    db,
    captureLogs: true,
    env: { BOOTSTRAP_ADMIN_EMAIL: ` ${email.toUpperCase()} ` },
  });
  t.same(await app.services.roles.of(user.id), ['admin'], 'the account named (in any case) is admin after the boot');
  const rows = await bootstrapRows(db);
  t.same(rows.roles, [{ user_id: user.id, granted_by: 'bootstrap' }], 'the grant says it came from the bootstrap');
  t.same(
    rows.audits,
    [{ user_id: user.id, reason: 'admin by bootstrap (BOOTSTRAP_ADMIN_EMAIL)' }],
    'one audit row records the grant',
  );
  t.ok(
    logs.some((l) => l.event === 'bootstrap_admin_granted' && l.userId === user.id),
    'the boot log says who was made admin',
  );
  const { accessToken } = await login(app, email);
  const users = await app.inject({ url: '/admin/users', headers: { authorization: `Bearer ${accessToken}` } });
  t.equal(users.statusCode, 200, 'the new admin signs in and reaches the admin API');

  const { logs: again } = await buildTestApp(t, { db, captureLogs: true, env: { BOOTSTRAP_ADMIN_EMAIL: email } });
  t.equal((await bootstrapRows(db)).audits.length, 1, 'a restart with the setting still there grants nothing more');
  t.ok(
    again.some((l) => l.event === 'bootstrap_admin_skipped'),
    'and its log says an admin exists, so the setting can go',
  );
});

t.test('an address with no account yet grants nothing, says so, and works at the boot after the sign-up', async (t) => {
  const db = await sharedDb(t);
  const email = uniqueEmail();
  const { app, logs } = await buildTestApp(t, { db, captureLogs: true, env: { BOOTSTRAP_ADMIN_EMAIL: email } });
  t.same((await bootstrapRows(db)).roles, [], 'nobody is admin');
  t.ok(
    logs.some((l) => l.event === 'bootstrap_admin_no_account' && l.level === 40),
    'a warning says to register the address and restart',
  );
  t.notOk(JSON.stringify(logs).includes(email), 'the log does not carry the address');
  const { user } = await register(app, email);
  const { app: restarted } = await buildTestApp(t, { db, env: { BOOTSTRAP_ADMIN_EMAIL: email } });
  t.same(await restarted.services.roles.of(user.id), ['admin'], 'the next boot makes the new account admin');
});

t.test('once any account is admin, the named account is not made one', async (t) => {
  const db = await sharedDb(t);
  const { app } = await buildTestApp(t, { db });
  const existing = await register(app);
  await app.services.roles.grant(existing.user.id, 'admin', { kind: 'cli' }, meta);
  const other = await register(app);
  const { app: booted } = await buildTestApp(t, { db, env: { BOOTSTRAP_ADMIN_EMAIL: other.email } });
  t.same(await booted.services.roles.of(other.user.id), [], 'the setting cannot add an admin next to an existing one');
  t.same(await booted.services.roles.of(existing.user.id), ['admin'], 'the existing admin keeps the role');
});

t.test('thirty instances booting at the same instant grant the role once and write one audit row', async (t) => {
  const db = await sharedDb(t);
  const { app } = await buildTestApp(t, { db });
  const { email, user } = await register(app);
  const connections = await Promise.all(Array.from({ length: 3 }, () => db.openAnother()));
  const outcomes = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      bootstrapAdmin(connections[i % 3]!.sql, email, new Date(), `boot-${i}`).then((r) => r.outcome),
    ),
  );
  t.equal(outcomes.filter((o) => o === 'granted').length, 1, 'exactly one instance grants');
  t.equal(outcomes.filter((o) => o === 'admin_exists').length, 29, 'the others find the admin there');
  const rows = await bootstrapRows(db);
  t.equal(rows.roles.length, 1, 'one admin row');
  t.equal(rows.audits.length, 1, 'one audit row');

  // Two whole apps booting together on a fresh database, as two containers would.
  const db2 = await sharedDb(t);
  const { app: seed } = await buildTestApp(t, { db: db2 });
  const second = await register(seed);
  const env = { BOOTSTRAP_ADMIN_EMAIL: second.email };
  await Promise.all([buildTestApp(t, { db: db2, env }), buildTestApp(t, { db: db2, env })]);
  const rows2 = await bootstrapRows(db2);
  t.same(
    rows2.roles.map((r) => r.user_id),
    [second.user.id],
    'two apps booting at once: one admin',
  );
  t.equal(rows2.audits.length, 1, 'and one audit row');
  t.not(user.id, second.user.id, 'two separate deployments');
});

t.test('BOOTSTRAP_ADMIN_EMAIL that is not an address stops the boot', async (t) => {
  t.throws(
    () => testConfig({ BOOTSTRAP_ADMIN_EMAIL: 'not-an-address' }),
    {
      constructor: ConfigError,
      message: /BOOTSTRAP_ADMIN_EMAIL must be an email address/,
    },
    'a value that is no address is a boot error naming the variable',
  );
  t.equal(
    testConfig({ BOOTSTRAP_ADMIN_EMAIL: 'Ops@Example.com' }).bootstrapAdminEmail,
    'ops@example.com',
    'normalized',
  );
});

t.test('providers without an origin to return to: the boot warns, naming RETURN_TO_ORIGINS', async (t) => {
  const file = path.join(await tempDir(t), 'providers.json');
  await writeFile(
    file,
    JSON.stringify([{ id: 'github', type: 'github', name: 'GitHub', client_id: 'gh', client_secret: 'a-secret' }]),
  );
  const { logs } = await buildTestApp(t, { captureLogs: true, env: { IDENTITY_PROVIDERS_FILE: file } });
  const warning = logs.find((l) => l.event === 'return_to_origins_missing');
  t.match(warning, { level: 40, providers: ['github'] }, 'a warning names the providers');
  t.match(String(warning?.msg), /RETURN_TO_ORIGINS/, 'and the setting to add');
  const { logs: set } = await buildTestApp(t, {
    captureLogs: true,
    env: { IDENTITY_PROVIDERS_FILE: file, RETURN_TO_ORIGINS: 'https://app.example.com' },
  });
  t.notOk(
    set.some((l) => l.event === 'return_to_origins_missing'),
    'no warning once an origin is listed',
  );
});
