// The token endpoint authenticates OAuth clients from a short-lived per-instance copy, re-checked by each
// grant's own statement. Two instances on one database: a client disabled, deleted, given a new secret or new
// keys through the admin API of one instance is refused at the other's very next code exchange and refresh,
// without waiting for the copy to expire; and the one-time rules hold with a warm copy (20 parallel
// redemptions of a code, 20 parallel refreshes of a token).
import t, { type Test } from 'tap';
import { exportJWK, generateKeyPair } from 'jose';
import { buildTestApp, expectError, register, type TestApp } from '../helper.js';
import { adminSession, assertion, bearer } from '../authz-fixtures.js';
import { ASSERTION_TYPE } from '../../src/domain/authz/client-assertions.js';
import { FORM, authorizeCode, exchangeCode, meta, refreshGrant, registerClient } from '../oauth-server-fixtures.js';
import { poll, registerDeviceClient, startDevice } from '../device-fixtures.js';

const REDIRECT = 'http://127.0.0.1:53123/callback';

async function twoInstances(t: Test) {
  const a = await buildTestApp(t);
  const b = await buildTestApp(t, { db: a.db, keysDir: a.keysDir });
  const admin = await adminSession(b.app);
  const user = await register(a.app);
  return { a: a.app, b: b.app, admin: bearer(admin.accessToken), user };
}

function tokenPost(app: TestApp, form: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: new URLSearchParams(form).toString(),
  });
}

/** A code exchange and a refresh by a client with a secret (client_secret_post). */
const withSecret = (id: string, secret: string) => ({
  exchange: (app: TestApp, code: string, verifier: string) =>
    tokenPost(app, {
      grant_type: 'authorization_code',
      client_id: id,
      client_secret: secret,
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
    }),
  refresh: (app: TestApp, refreshToken: string) =>
    tokenPost(app, { grant_type: 'refresh_token', client_id: id, client_secret: secret, refresh_token: refreshToken }),
});

/** A secret client registered on B, warmed on A (its copy held there), with a live grant and an unspent code. */
async function warmSecretClient(a: TestApp, b: TestApp, admin: Record<string, string>, email: string) {
  const created = await b.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: admin,
    payload: {
      client_name: 'Partner Web',
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid offline_access',
    },
  });
  const { client_id: id, client_secret: secret } = created.json();
  const calls = withSecret(id, secret);
  const first = await authorizeCode(a, id, email, { scope: 'openid offline_access' });
  const tokens = (await calls.exchange(a, first.code, first.verifier)).json();
  const warmed = await calls.refresh(a, tokens.refresh_token);
  const pending = await authorizeCode(a, id, email, { scope: 'openid offline_access' }, first.browser);
  return { id, secret, calls, refreshToken: warmed.json().refresh_token as string, pending };
}

t.test(
  'a client disabled on another instance is refused at once: invalid_client for exchange and refresh',
  async (t) => {
    const { a, b, admin, user } = await twoInstances(t);
    const c = await warmSecretClient(a, b, admin, user.email);
    t.ok(c.refreshToken, 'instance A refreshed with its copy of the client');
    const disabled = await b.inject({ method: 'POST', url: `/admin/clients/${c.id}/disable`, headers: admin });
    t.equal(disabled.statusCode, 200, 'instance B disabled the client');
    expectError(t, await c.calls.exchange(a, c.pending.code, c.pending.verifier), 'invalid_client', 'A: code exchange');
    expectError(t, await c.calls.refresh(a, c.refreshToken), 'invalid_client', 'A: refresh');
  },
);

t.test(
  'a client deleted on another instance is refused at once: invalid_client for exchange and refresh',
  async (t) => {
    const { a, b, admin, user } = await twoInstances(t);
    const c = await warmSecretClient(a, b, admin, user.email);
    const deleted = await b.inject({ method: 'DELETE', url: `/admin/clients/${c.id}`, headers: admin });
    t.equal(deleted.statusCode, 204, 'instance B deleted the client');
    expectError(t, await c.calls.exchange(a, c.pending.code, c.pending.verifier), 'invalid_client', 'A: code exchange');
    expectError(t, await c.calls.refresh(a, c.refreshToken), 'invalid_client', 'A: refresh');
  },
);

t.test('a secret rotated on another instance: the old secret stops at once, the new one works', async (t) => {
  const { a, b, admin, user } = await twoInstances(t);
  const c = await warmSecretClient(a, b, admin, user.email);
  const rotated = await b.inject({ method: 'POST', url: `/admin/clients/${c.id}/secret`, headers: admin });
  t.equal(rotated.statusCode, 200, 'instance B gave the client a new secret');
  const secret = rotated.json().client_secret;
  t.ok(secret && secret !== c.secret, 'shown once, in that answer');
  expectError(t, await c.calls.exchange(a, c.pending.code, c.pending.verifier), 'invalid_client', 'A: old secret');
  expectError(t, await c.calls.refresh(a, c.refreshToken), 'invalid_client', 'A: refresh with the old secret');
  const fresh = withSecret(c.id, secret);
  const exchanged = await fresh.exchange(a, c.pending.code, c.pending.verifier);
  t.equal(exchanged.statusCode, 200, 'A: the new secret redeems the code the old one could not');
  t.equal((await fresh.refresh(a, c.refreshToken)).statusCode, 200, 'A: and refreshes the grant');
});

t.test('a secret rotated on another instance: the new secret works at once, before the old one is tried', async (t) => {
  const { a, b, admin, user } = await twoInstances(t);
  const c = await warmSecretClient(a, b, admin, user.email);
  const rotated = await b.inject({ method: 'POST', url: `/admin/clients/${c.id}/secret`, headers: admin });
  t.equal(rotated.statusCode, 200, 'instance B gave the client a new secret');
  const fresh = withSecret(c.id, rotated.json().client_secret);
  const exchanged = await fresh.exchange(a, c.pending.code, c.pending.verifier);
  t.equal(exchanged.statusCode, 200, 'A, whose copy holds the old secret, takes the new one at its first use');
  t.equal((await fresh.refresh(b, c.refreshToken)).statusCode, 200, 'and the grant refreshes with it on B as well');
});

t.test('keys replaced on another instance: an assertion signed with the old key is refused at once', async (t) => {
  const { a, b, admin, user } = await twoInstances(t);
  const keyPair = async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const kid = crypto.randomUUID();
    return { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
  };
  const [oldKey, newKey] = [await keyPair(), await keyPair()];
  const metadata = {
    client_name: 'Partner Web (keys)',
    redirect_uris: ['http://127.0.0.1/callback'],
    token_endpoint_auth_method: 'private_key_jwt',
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid offline_access',
  };
  const created = await b.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: admin,
    payload: { ...metadata, jwks: { keys: [oldKey.jwk] } },
  });
  const id: string = created.json().client_id;
  const issuer = a.services.config.issuer;
  const signed = (key: typeof oldKey) =>
    assertion({ id, privateKey: key.privateKey, kid: key.kid, entry: '' }, issuer, new Date());
  const exchange = async (key: typeof oldKey, code: string, verifier: string) =>
    tokenPost(a, {
      grant_type: 'authorization_code',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await signed(key),
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
    });
  const refresh = async (key: typeof oldKey, refreshToken: string) =>
    tokenPost(a, {
      grant_type: 'refresh_token',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await signed(key),
      refresh_token: refreshToken,
    });
  const first = await authorizeCode(a, id, user.email, { scope: 'openid offline_access' });
  const tokens = await exchange(oldKey, first.code, first.verifier);
  t.equal(tokens.statusCode, 200, 'A: the first exchange with the registered key works');
  const pending = await authorizeCode(a, id, user.email, { scope: 'openid offline_access' }, first.browser);
  const replaced = await b.inject({
    method: 'PUT',
    url: `/admin/clients/${id}`,
    headers: admin,
    payload: { ...metadata, jwks: { keys: [newKey.jwk] } },
  });
  t.equal(replaced.statusCode, 200, 'instance B replaced the keys');
  expectError(t, await exchange(oldKey, pending.code, pending.verifier), 'invalid_client', 'A: exchange, old key');
  expectError(t, await refresh(oldKey, tokens.json().refresh_token), 'invalid_client', 'A: refresh, old key');
  t.equal((await exchange(newKey, pending.code, pending.verifier)).statusCode, 200, 'A: the new key works');
});

t.test('with a warm copy, 20 parallel redemptions of one code give exactly one success', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const warm = await authorizeCode(app, client.id, user.email);
  t.equal((await exchangeCode(app, client.id, warm.code, warm.verifier)).statusCode, 200, 'the copy is warm');
  const { code, verifier } = await authorizeCode(app, client.id, user.email, {}, warm.browser);
  const answers = await Promise.all(Array.from({ length: 20 }, () => exchangeCode(app, client.id, code, verifier)));
  t.equal(answers.filter((r) => r.statusCode === 200).length, 1, 'exactly one redemption succeeds');
  for (const r of answers.filter((r) => r.statusCode !== 200))
    expectError(t, r, 'invalid_grant', 'a losing redemption');
});

t.test('with a warm copy, 20 parallel refreshes of one token all get the one next token (grace)', async (t) => {
  const { app, clock } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, client.id, user.email);
  const first = (await exchangeCode(app, client.id, code, verifier)).json().refresh_token;
  const answers = await Promise.all(Array.from({ length: 20 }, () => refreshGrant(app, client.id, first)));
  t.equal(answers.filter((r) => r.statusCode === 200).length, 20, 'every process of the app keeps working');
  t.equal(new Set(answers.map((r) => r.json().refresh_token)).size, 1, 'all hold the one live token');
  clock.advance(3600);
  expectError(t, await refreshGrant(app, client.id, first), 'invalid_grant', 'the old token replayed later');
  expectError(
    t,
    await refreshGrant(app, client.id, answers[0]!.json().refresh_token),
    'invalid_grant',
    'the replay ended the grant',
  );
});

t.test('a client changed on another instance: its device keeps its polling interval (no slow_down)', async (t) => {
  const a = await buildTestApp(t);
  const b = await buildTestApp(t, { db: a.db, keysDir: a.keysDir, clock: a.clock });
  const { client } = await registerDeviceClient(a.app);
  const device = (await startDevice(a.app, { client_id: client.id, scope: 'openid' })).json();
  expectError(
    t,
    await poll(a.app, client.id, device.device_code),
    'authorization_pending',
    'A: first poll (copy kept)',
  );
  // Any change moves the client's version: off and on again, on B.
  const cli = { kind: 'cli' } as const;
  await b.app.services.oauthClients.setDisabled(client.id, true, cli, meta);
  await b.app.services.oauthClients.setDisabled(client.id, false, cli, meta);
  a.clock.advance(6);
  expectError(
    t,
    await poll(a.app, client.id, device.device_code),
    'authorization_pending',
    'A: a poll 6 s later is pending, not slowed down by the stale copy answering before the fresh read',
  );
  const row = await a.db.database.prisma.oAuthDeviceCode.findFirst({ where: { clientId: client.id } });
  t.equal(row?.intervalSeconds, 5, 'the grant’s interval is still 5 s');
});
