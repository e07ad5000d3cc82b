// Using an API key: the RFC 8693 exchange at /oauth/token and introspection, and what the hot path promises:
// a mistyped key costs no statement, a use writes last_used_at at most once a minute, scopes follow the
// owner's roles at every use, a revocation on one instance is refused by the next use on another.
import t from 'tap';
import { buildTestApp, createTestDatabase, expectError, recordStatements } from '../helper.js';
import { introspect, meta, secretClient } from '../authz-fixtures.js';
import { API_KEY_TYPE, exchange, userKey } from '../api-key-fixtures.js';
import { newApiKey, newApiKeyId } from '../../src/domain/api-keys/api-key-format.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';

const service = secretClient('orders', 'scope=introspect orders:sync');
const env = { SERVICE_CLIENTS: service.entry };

t.test('a personal key is exchanged for a 15-minute access token with the scopes its owner holds', async (t) => {
  const { app, config } = await buildTestApp(t, { env });
  const { user, key, id } = await userKey(app, ['support', 'billing:read']);
  const res = await exchange(app, key);
  t.equal(res.statusCode, 200, 'the exchange answers 200');
  const body = res.json();
  t.equal(body.token_type, 'Bearer', 'a Bearer token');
  t.equal(body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token', 'RFC 8693 issued_token_type');
  t.equal(body.expires_in, 900, 'the token lives 15 minutes');
  t.equal(body.scope, 'billing:read support', "the key's scopes");
  t.notOk(body.refresh_token, 'no refresh token: the key is presented again');
  const claims = decodeJwt(body.access_token);
  t.equal(decodeProtectedHeader(body.access_token).typ, 'at+jwt', 'an RFC 9068 access token like any other');
  t.equal(claims.sub, user.user.id, 'the token is about the key owner');
  t.equal(claims.iss, config.issuer, 'issued by Tessera');
  t.notOk(claims.sid, 'no session: Tessera’s own Bearer routes refuse it');
  t.same(claims.roles, ['billing:read', 'support'], 'roles carry the scopes for resource servers');
  const narrow = await exchange(app, key, { scope: 'support' });
  t.equal(narrow.json().scope, 'support', 'scope narrows the token');
  expectError(t, await exchange(app, key, { scope: 'admin' }), 'invalid_scope', 'a scope beyond the key');
  const me = await app.inject({
    method: 'GET',
    url: '/auth/me',
    headers: { authorization: `Bearer ${body.access_token}` },
  });
  expectError(t, me, 'invalid_token', 'an API-key token opens no session route');
  const intro = (await introspect(app, service, key)).json();
  t.equal(intro.active, true, 'introspection accepts the key itself');
  t.equal(intro.sub, user.user.id, 'and names its owner');
  t.equal(intro.jti, id, 'and its id');
});

t.test('wrong, mistyped and forged keys are invalid_grant, in the RFC 6749 error shape', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const { key } = await userKey(app, ['support']);
  // The last character changed (to another one: a key may already end in x).
  const typo = `${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`;
  for (const bad of [typo, newApiKey(newApiKeyId()), newApiKey(key.slice(4, 16))]) {
    const res = await exchange(app, bad);
    expectError(t, res, 'invalid_grant', 'a key that is not a live one');
    t.equal(res.json().error, 'invalid_grant', 'the OAuth error field');
    t.type(res.json().error_description, 'string', 'with a description');
  }
  const wrongType = await exchange(app, key, { subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
  t.equal(wrongType.statusCode, 401, 'another subject token type needs client authentication like any grant');
  t.equal((await introspect(app, service, typo)).json().active, false, 'introspection: inactive');
});

t.test('a mistyped key is refused before any database statement', async (t) => {
  const { app, db } = await buildTestApp(t, { env });
  const { key } = await userKey(app, ['support']);
  const typo = key.slice(0, 30) + (key[30] === 'a' ? 'b' : 'a') + key.slice(31);
  const recording = recordStatements(db);
  const res = await exchange(app, typo);
  const statements = recording.stop();
  expectError(t, res, 'invalid_grant', 'the typo is refused');
  t.same(statements, [], 'no statement ran for a key whose checksum fails');
});

t.test('1,000 uses in 10 seconds write last_used_at once, and nothing else', async (t) => {
  const { app, db, clock } = await buildTestApp(t, {
    env: { ...env, API_KEY_RATE_LIMIT_PER_MINUTE: '0', API_KEY_ADDRESS_RATE_LIMIT_PER_MINUTE: '0' },
  });
  const { key, id } = await userKey(app, ['support']);
  const recording = recordStatements(db);
  for (let batch = 0; batch < 10; batch++) {
    const answers = await Promise.all(Array.from({ length: 100 }, () => exchange(app, key)));
    t.ok(
      answers.every((r) => r.statusCode === 200),
      `batch ${batch}: every use succeeds`,
    );
    clock.advance(1);
  }
  const statements = recording.stop();
  const writes = statements.filter((s) => /^(UPDATE|INSERT|DELETE)/i.test(s) || s === 'BEGIN');
  t.equal(writes.length, 1, 'one write in 10 seconds of use');
  t.match(writes[0], /^UPDATE api_keys SET last_used_at/, 'the write is last_used_at');
  const row = await db.database.prisma.apiKey.findUnique({ where: { id } });
  t.ok(row?.lastUsedAt, 'last_used_at is set');
  clock.advance(61);
  t.equal((await exchange(app, key)).statusCode, 200, 'a use a minute later');
  const later = await db.database.prisma.apiKey.findUnique({ where: { id } });
  t.ok(later!.lastUsedAt!.getTime() > row!.lastUsedAt!.getTime(), 'a minute later, last_used_at moves again');
});

t.test('a revoked role shrinks the key at its next use, and a disabled owner stops it', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const { user, key } = await userKey(app, ['support', 'billing:read']);
  await app.services.roles.revoke(user.user.id, 'billing:read', { kind: 'cli' }, meta);
  t.equal((await exchange(app, key)).json().scope, 'support', 'the revoked role left the key at once');
  t.same((await introspect(app, service, key)).json().scope, 'support', 'introspection sees it too');
  await app.services.accountAdmin.disable(user.user.id, { kind: 'cli' }, meta);
  expectError(t, await exchange(app, key), 'invalid_grant', "a disabled owner's key");
});

t.test('an expired key is refused', async (t) => {
  const { app, clock } = await buildTestApp(t, { env });
  const { user } = await userKey(app, ['support']);
  const res = await app.inject({
    method: 'POST',
    url: '/auth/api-keys',
    headers: { authorization: `Bearer ${user.accessToken}` },
    payload: { name: 'short', scopes: [], expires_in: 120 },
  });
  const { key } = res.json();
  t.equal((await exchange(app, key)).statusCode, 200, 'works before its expiry');
  clock.advance(121);
  expectError(t, await exchange(app, key), 'invalid_grant', 'refused after it');
});

t.test('two instances sharing a database: a key revoked on one is refused by the next use on the other', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const a = await buildTestApp(t, { env, db });
  const b = await buildTestApp(t, { env, db, keysDir: a.keysDir });
  const { user, key, id } = await userKey(a.app, ['support']);
  t.equal((await exchange(b.app, key)).statusCode, 200, 'instance B accepts the key');
  const del = await a.app.inject({
    method: 'DELETE',
    url: `/auth/api-keys/${id}`,
    headers: { authorization: `Bearer ${user.accessToken}` },
  });
  t.equal(del.statusCode, 204, 'instance A revokes it');
  const after = await Promise.all(Array.from({ length: 20 }, () => exchange(b.app, key)));
  t.ok(
    after.every((r) => r.statusCode === 400 && r.json().code === 'invalid_grant'),
    'B refuses it at once, 20 times',
  );
  t.equal((await introspect(b.app, service, key)).json().active, false, 'introspection on B: inactive');
});

t.test('a service client key gives a client token; the key type URN is the documented one', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const made = await app.services.apiKeys.create(
    { kind: 'client', clientId: 'orders' },
    { name: 'orders sync', scopes: ['orders:sync'] },
    { kind: 'cli' },
    meta,
  );
  const res = await exchange(app, made.key);
  t.equal(res.statusCode, 200, 'the exchange works for a service client key');
  const claims = decodeJwt(res.json().access_token);
  t.equal(claims.sub, 'orders', 'sub is the client');
  t.equal(claims.client_id, 'orders', 'client_id is the client');
  t.equal(claims.scope, 'orders:sync', 'the key scope');
  t.equal(API_KEY_TYPE, 'urn:tessera:params:oauth:token-type:api_key', 'the URN docs/oauth-apps.md documents');
});
