// Each auth event, caused through HTTP as a user or admin would, is enqueued for an endpoint that asked for it,
// in the transaction of the change (the audit writer enqueues it), with a payload that names the user and
// carries no secret. An endpoint gets only the event types it asked for, and a disabled one gets none.
import t, { type Test } from 'tap';
import { buildTestApp, login, PASSWORD, refresh, register, session } from '../helper.js';
import { adminSession, bearer } from '../authz-fixtures.js';
import { createKey } from '../api-key-fixtures.js';
import { EVENT_TYPES } from '../../src/domain/webhook-events.js';

const ENV = {
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
  WEBHOOK_POLL_INTERVAL_MS: '60000',
  REFRESH_REUSE_GRACE_SECONDS: '0',
};

async function setup(t: Test, eventTypes: string[] = [...EVENT_TYPES]) {
  const { app, db, clock } = await buildTestApp(t, { env: ENV });
  const admin = await adminSession(app);
  const made = await app.inject({
    method: 'POST',
    url: '/admin/webhooks',
    headers: bearer(admin.accessToken),
    payload: { url: 'http://127.0.0.1:9/hooks', event_types: eventTypes },
  });
  if (made.statusCode !== 201) throw new Error(made.body);
  const events = async (type: string) =>
    (await db.database.prisma.webhookDelivery.findMany({ where: { eventType: type }, orderBy: { id: 'asc' } })).map(
      (d) => JSON.parse(d.payload) as { type: string; data: Record<string, unknown> },
    );
  return { app, admin, clock, events, endpointId: made.json().endpoint.id as string };
}

const payloadHasNoSecret = (t: Test, payloads: unknown[]) =>
  t.notOk(JSON.stringify(payloads).match(/@|eyJ|whsec_|correct horse/), 'no email, token, secret or password');

t.test('accounts: user.created, sign_in.succeeded, sign_in.failed, password.changed, user.deleted', async (t) => {
  const { app, events } = await setup(t);
  const { user, email } = await register(app);
  t.match((await events('user.created')).at(-1), { data: { user_id: user.id } }, 'user.created names the new user');
  const s = await login(app, email);
  t.match((await events('sign_in.succeeded')).at(-1), { data: { user_id: user.id } }, 'sign_in.succeeded');
  await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'wrong password!' } });
  t.match(await events('sign_in.failed'), [{ data: { user_id: user.id, reason: 'wrong_password' } }], 'sign_in.failed');
  const changed = await app.inject({
    method: 'POST',
    url: '/auth/password',
    headers: bearer(s.accessToken),
    payload: { current_password: PASSWORD, new_password: 'another long passphrase 42' },
  });
  t.equal(changed.statusCode, 204, 'password changed');
  t.match(await events('password.changed'), [{ data: { user_id: user.id } }], 'password.changed');
  const gone = await app.inject({
    method: 'DELETE',
    url: '/auth/account',
    headers: bearer(s.accessToken),
    payload: { password: 'another long passphrase 42' },
  });
  t.equal(gone.statusCode, 204, 'account deleted');
  t.match(await events('user.deleted'), [{ data: { user_id: user.id } }], 'user.deleted');
  payloadHasNoSecret(t, [
    ...(await events('user.created')),
    ...(await events('sign_in.failed')),
    ...(await events('password.changed')),
  ]);
});

t.test('sessions: session.ended with its reason, refresh_token.reuse_detected', async (t) => {
  const { app, clock, events } = await setup(t);
  const s = await session(app);
  await app.inject({ method: 'POST', url: '/auth/logout', cookies: { tessera_refresh: s.refresh } });
  t.match(
    await events('session.ended'),
    [{ data: { user_id: s.user.id, reason: 'logout', session_ids: [/./] } }],
    'session.ended says why',
  );
  const s2 = await login(app, s.email);
  const rotated = await refresh(app, s2.refresh);
  t.equal(rotated.statusCode, 200, 'refreshed');
  clock.advance(5);
  const reused = await refresh(app, s2.refresh);
  t.equal(reused.statusCode, 401, 'the old refresh token is refused');
  t.match(await events('refresh_token.reuse_detected'), [{ data: { user_id: s.user.id } }], 'reuse detected');
  t.match(
    (await events('session.ended')).at(-1),
    { data: { reason: 'refresh_token_reused' } },
    'and the session it ended',
  );
});

t.test('roles and API keys: role.granted, role.revoked, api_key.created, api_key.revoked', async (t) => {
  const { app, admin, events } = await setup(t);
  const s = await session(app);
  const url = `/admin/users/${s.user.id}/roles/support`;
  t.equal(
    (await app.inject({ method: 'PUT', url, headers: bearer(admin.accessToken) })).statusCode < 300,
    true,
    'granted',
  );
  t.match((await events('role.granted')).at(-1), { data: { user_id: s.user.id } }, 'role.granted');
  t.equal(
    (await app.inject({ method: 'DELETE', url, headers: bearer(admin.accessToken) })).statusCode < 300,
    true,
    'revoked',
  );
  t.match(await events('role.revoked'), [{ data: { user_id: s.user.id } }], 'role.revoked');
  const key = await createKey(app, s.accessToken, { name: 'ci', scopes: [] });
  t.equal(key.statusCode, 201, 'key made');
  t.match(await events('api_key.created'), [{ data: { user_id: s.user.id } }], 'api_key.created');
  const del = await app.inject({
    method: 'DELETE',
    url: `/auth/api-keys/${key.json().id}`,
    headers: bearer(s.accessToken),
  });
  t.equal(del.statusCode, 204, 'key revoked');
  t.match(await events('api_key.revoked'), [{ data: { user_id: s.user.id } }], 'api_key.revoked');
  payloadHasNoSecret(t, await events('api_key.created'));
});

t.test('an endpoint gets only the types it asked for, and a disabled endpoint gets none', async (t) => {
  const { app, admin, events, endpointId } = await setup(t, ['user.deleted']);
  await session(app);
  t.same(await events('user.created'), [], 'user.created was not asked for');
  t.same(await events('sign_in.succeeded'), [], 'nor sign_in.succeeded');
  const off = await app.inject({
    method: 'PATCH',
    url: `/admin/webhooks/${endpointId}`,
    headers: bearer(admin.accessToken),
    payload: { enabled: false, event_types: ['user.created'] },
  });
  t.match(off.json(), { enabled: false, event_types: ['user.created'] }, 'disabled');
  await register(app);
  t.same(await events('user.created'), [], 'a disabled endpoint is given nothing');
});
