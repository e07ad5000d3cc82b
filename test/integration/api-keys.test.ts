// Managing API keys over HTTP: a user's own keys (create once-shown, list, revoke, roll with an overlap),
// the expiry rules, scopes bounded by the owner's roles, admins doing the same for users and service
// clients, an audit row for every change, and the leak report (same answer either way, owner emailed).
import t from 'tap';
import { buildTestApp, databaseKind, expectError } from '../helper.js';
import { adminSession, bearer, secretClient } from '../authz-fixtures.js';
import { createKey, exchange, userKey, userWithRoles } from '../api-key-fixtures.js';
import { mailEnv, startSmtp } from '../mail-smtp.js';
import { newApiKey, newApiKeyId } from '../../src/domain/api-keys/api-key-format.js';

const orders = secretClient('orders', 'scope=introspect orders:sync');
const env = { SERVICE_CLIENTS: orders.entry };

t.test('a user makes a key shown once, lists it without the key, and revokes it', async (t) => {
  const { app, db, clock } = await buildTestApp(t, { env });
  const user = await userWithRoles(app, ['support']);
  const res = await createKey(app, user.accessToken, { name: 'ci', scopes: ['support'] });
  t.equal(res.statusCode, 201, 'creation answers 201');
  const made = res.json();
  t.match(made.key, /^tsk_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/, 'the key, in the published format');
  t.equal(made.key.slice(4, 16), made.id, 'the id is the part after the prefix');
  t.equal(
    new Date(made.expires_at).getTime() - clock.now().getTime(),
    90 * 86400 * 1000,
    'without expires_in a key lives 90 days',
  );
  const list = await app.inject({ method: 'GET', url: '/auth/api-keys', headers: bearer(user.accessToken) });
  t.equal(list.json().api_keys.length, 1, 'the list has the key');
  t.notOk(list.json().api_keys[0].key, 'the list never shows the key');
  t.notMatch(list.body, made.key.slice(17), 'nor any part of its secret');
  const row = await db.database.prisma.apiKey.findUnique({ where: { id: made.id } });
  t.not(row!.mac, made.key, 'the database holds a keyed hash, not the key');
  const other = await userWithRoles(app, ['support']);
  const foreign = await app.inject({
    method: 'DELETE',
    url: `/auth/api-keys/${made.id}`,
    headers: bearer(other.accessToken),
  });
  expectError(t, foreign, 'not_found', "another user's key");
  const del = await app.inject({
    method: 'DELETE',
    url: `/auth/api-keys/${made.id}`,
    headers: bearer(user.accessToken),
  });
  t.equal(del.statusCode, 204, 'the owner revokes it');
  expectError(t, await exchange(app, made.key), 'invalid_grant', 'a revoked key');
  const audit = await db.database.prisma.auditEvent.findMany({ where: { type: { startsWith: 'api_key_' } } });
  t.same(audit.map((a) => a.type).sort(), ['api_key_created', 'api_key_revoked'], 'both changes are audited');
  t.notMatch(audit.map((a) => a.reason ?? '').join(' '), made.key.slice(17), 'audit rows never hold the key');
});

t.test('scopes must be among the owner’s roles; expiry is bounded', async (t) => {
  const { app } = await buildTestApp(t, {
    env: { ...env, API_KEY_MAX_TTL_SECONDS: '86400', API_KEY_DEFAULT_TTL_SECONDS: '3600' },
  });
  const user = await userWithRoles(app, ['support']);
  expectError(
    t,
    await createKey(app, user.accessToken, { name: 'x', scopes: ['admin'] }),
    'invalid_scope',
    'a role the user lacks',
  );
  expectError(
    t,
    await createKey(app, user.accessToken, { name: 'x', scopes: [], expires_in: 86401 }),
    'api_key_expiry_invalid',
    'past the maximum',
  );
  expectError(t, await createKey(app, user.accessToken, { name: 'x' }), 'invalid_request', 'scopes are required');
  expectError(
    t,
    await createKey(app, 'nope', { name: 'x', scopes: [] }),
    'invalid_token',
    'a Bearer token is required',
  );
});

t.test(
  'a roll makes a new key; the old one works for the overlap, then stops; 20 rolls at once make one',
  async (t) => {
    const { app, clock, db } = await buildTestApp(t, { env });
    const { user, key, id } = await userKey(app, ['support']);
    const rolls = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.inject({
          method: 'POST',
          url: `/auth/api-keys/${id}/roll`,
          headers: bearer(user.accessToken),
          payload: { overlap_seconds: 300 },
        }),
      ),
    );
    const ok = rolls.filter((r) => r.statusCode === 201);
    t.equal(ok.length, 1, 'one roll succeeds');
    for (const r of rolls.filter((r) => r.statusCode !== 201)) expectError(t, r, 'api_key_not_rollable', 'the others');
    const next = ok[0]!.json();
    t.equal(next.rolled_from, id, 'the new key names the one it replaced');
    t.equal((await exchange(app, key)).statusCode, 200, 'the old key works during the overlap');
    t.equal((await exchange(app, next.key)).statusCode, 200, 'the new key works');
    clock.advance(301);
    expectError(t, await exchange(app, key), 'invalid_grant', 'the old key after the overlap');
    t.equal((await exchange(app, next.key)).statusCode, 200, 'the new key still works');
    t.equal(
      await db.database.prisma.auditEvent.count({ where: { type: 'api_key_rolled' } }),
      1,
      'the roll is audited once',
    );
  },
);

t.test('admins manage keys of users and of service clients under /admin', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const admin = await adminSession(app);
  const user = await userWithRoles(app, ['support']);
  const forUser = await app.inject({
    method: 'POST',
    url: `/admin/users/${user.user.id}/api-keys`,
    headers: bearer(admin.accessToken),
    payload: { name: 'for support', scopes: ['support'] },
  });
  t.equal(forUser.statusCode, 201, "an admin makes a user's key");
  expectError(
    t,
    await app.inject({
      method: 'POST',
      url: `/admin/users/${user.user.id}/api-keys`,
      headers: bearer(admin.accessToken),
      payload: { name: 'too much', scopes: ['admin'] },
    }),
    'invalid_scope',
    "even an admin can't give a user's key more than the user has",
  );
  const forClient = await app.inject({
    method: 'POST',
    url: '/admin/service-clients/orders/api-keys',
    headers: bearer(admin.accessToken),
    payload: { name: 'orders sync', scopes: ['orders:sync'], expires_in: 3600 },
  });
  t.equal(forClient.statusCode, 201, 'an admin makes a service client key');
  t.equal(forClient.json().client_id, 'orders', 'owned by the client');
  const list = await app.inject({
    method: 'GET',
    url: '/admin/service-clients/orders/api-keys',
    headers: bearer(admin.accessToken),
  });
  t.equal(list.json().api_keys.length, 1, "the client's keys");
  const roll = await app.inject({
    method: 'POST',
    url: `/admin/api-keys/${forClient.json().id}/roll`,
    headers: bearer(admin.accessToken),
    payload: {},
  });
  t.equal(roll.statusCode, 201, 'an admin rolls it');
  expectError(t, await exchange(app, forClient.json().key), 'invalid_grant', 'no overlap: the old key stops at once');
  const del = await app.inject({
    method: 'DELETE',
    url: `/admin/api-keys/${roll.json().id}`,
    headers: bearer(admin.accessToken),
  });
  t.equal(del.statusCode, 204, 'an admin revokes it');
  const denied = await app.inject({
    method: 'GET',
    url: '/admin/service-clients/orders/api-keys',
    headers: bearer(user.accessToken),
  });
  expectError(t, denied, 'insufficient_scope', 'a non-admin is refused');
});

t.test('a reported leak revokes the key and emails its owner; the answer is the same for any key', async (t) => {
  const smtp = await startSmtp(t);
  const { app, db } = await buildTestApp(t, { env: mailEnv(smtp, env) });
  const { user, key, id } = await userKey(app, ['support']);
  await smtp.waitFor(1); // the verification mail of the registration
  const report = (k: string) =>
    app.inject({
      method: 'POST',
      url: '/auth/api-keys/report-leak',
      payload: { key: k },
      remoteAddress: '198.51.100.7',
    });
  const answers = await Promise.all([
    report(key),
    report(key),
    report(newApiKey(newApiKeyId())),
    report('not a key at all'),
  ]);
  for (const r of answers) {
    t.equal(r.statusCode, 202, 'every report answers 202');
    t.equal(r.body, '{}', 'with the same body');
  }
  expectError(t, await exchange(app, key), 'invalid_grant', 'the reported key is revoked');
  const [, notice] = await smtp.waitFor(2);
  t.equal(notice!.to, user.email, 'the owner is told');
  t.match(notice!.text, id, 'the notice names the key by its id');
  t.notMatch(notice!.text, key.slice(17), 'and never holds the key');
  t.equal(
    await db.database.prisma.auditEvent.count({ where: { type: 'api_key_leak_reported' } }),
    1,
    'one audit row for two reports of the same key',
  );
  t.equal(await db.database.prisma.mailMessage.count({ where: { kind: 'api_key_leaked' } }), 1, 'one notice');
});

t.test('a roll and the deletion of its owner at the same instant: one of them wins, no 5xx', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const admin = await adminSession(app);
  // The roll takes the owner's row before the key's, as the deletion does: the other order was a deadlock.
  for (let round = 0; round < (databaseKind === 'postgres' ? 10 : 1); round++) {
    const { user, id } = await userKey(app, ['support']);
    const [rolled, deleted] = await Promise.all([
      app.inject({
        method: 'POST',
        url: `/auth/api-keys/${id}/roll`,
        headers: bearer(user.accessToken),
        payload: { overlap_seconds: 300 },
      }),
      app.inject({ method: 'DELETE', url: `/admin/users/${user.user.id}`, headers: bearer(admin.accessToken) }),
    ]);
    t.ok(
      rolled.statusCode < 500 && deleted.statusCode === 204,
      `round ${round}: roll ${rolled.statusCode}, deletion ${deleted.statusCode}`,
    );
  }
});
