// Registering OAuth clients through /admin/clients in RFC 7591's names (audited, secret shown once), and
// connected apps: a user lists and disconnects an app, whose tokens stop at once and whose consent is gone.
import t from 'tap';
import { buildTestApp, databaseKind, expectError, register } from '../helper.js';
import { adminSession, bearer } from '../authz-fixtures.js';
import {
  authorizeCode,
  authorizeQuery,
  exchangeCode,
  pkce,
  refreshGrant,
  registerClient,
} from '../oauth-server-fixtures.js';
import { login } from '../helper.js';

t.test('an admin registers, reads, replaces, disables and deletes a client in RFC 7591 terms', async (t) => {
  const { app } = await buildTestApp(t);
  const admin = await adminSession(app);
  const created = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: bearer(admin.accessToken),
    payload: {
      client_name: 'Partner Web',
      redirect_uris: ['https://partner.example.com/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      scope: 'openid email',
    },
  });
  t.equal(created.statusCode, 201, 'registration answers 201');
  const body = created.json();
  t.ok(body.client_id && body.client_secret, 'with client_id and the secret, once');
  t.same(body.response_types, ['code'], 'response_types is code');
  const read = await app.inject({ url: `/admin/clients/${body.client_id}`, headers: bearer(admin.accessToken) });
  t.notOk(read.json().client_secret, 'reading it never shows the secret again');
  const replaced = await app.inject({
    method: 'PUT',
    url: `/admin/clients/${body.client_id}`,
    headers: bearer(admin.accessToken),
    payload: { client_name: 'Partner Web 2', redirect_uris: ['https://partner.example.com/cb2'], scope: 'openid' },
  });
  t.equal(replaced.json().client_name, 'Partner Web 2', 'PUT replaces the metadata');
  t.notOk(replaced.json().client_secret, 'and keeps the secret');
  const bad = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: bearer(admin.accessToken),
    payload: { client_name: 'x', redirect_uris: ['http://evil.example.com/cb'] },
  });
  expectError(t, bad, 'invalid_redirect_uri', 'a plain-http redirect URI');
  t.equal(bad.json().error, 'invalid_redirect_uri', 'with the RFC 7591 error');
  const disabled = await app.inject({
    method: 'POST',
    url: `/admin/clients/${body.client_id}/disable`,
    headers: bearer(admin.accessToken),
  });
  t.equal(disabled.json().disabled, true, 'the client is disabled');
  const deleted = await app.inject({
    method: 'DELETE',
    url: `/admin/clients/${body.client_id}`,
    headers: bearer(admin.accessToken),
  });
  t.equal(deleted.statusCode, 204, 'and deleted');
  const types = (
    await app.services.database.prisma.auditEvent.findMany({ where: { type: { startsWith: 'oauth_client' } } })
  ).map((e) => e.type);
  t.same(
    types.sort(),
    ['oauth_client_deleted', 'oauth_client_disabled', 'oauth_client_registered', 'oauth_client_updated'],
    'every change is audited',
  );
  const user = await register(app);
  const { accessToken } = await login(app, user.email);
  const refused = await app.inject({ url: '/admin/clients', headers: bearer(accessToken) });
  expectError(t, refused, 'insufficient_scope', 'a user who is not an admin');
});

t.test('a user lists connected apps and disconnects one: tokens stop, consent is forgotten', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const flow = await authorizeCode(app, client.id, user.email);
  const tokens = (await exchangeCode(app, client.id, flow.code, flow.verifier)).json();
  const { accessToken } = await login(app, user.email);
  const listed = await app.inject({ url: '/auth/apps', headers: bearer(accessToken) });
  t.equal(listed.json().apps.length, 1, 'the app is listed');
  t.equal(listed.json().apps[0].client_name, 'Notes for Desktop', 'by name');
  t.equal(listed.json().apps[0].scope, 'openid email offline_access', 'with what it may do');
  const gone = await app.inject({ method: 'DELETE', url: `/auth/apps/${client.id}`, headers: bearer(accessToken) });
  t.equal(gone.statusCode, 204, 'disconnecting answers 204');
  expectError(
    t,
    await refreshGrant(app, client.id, tokens.refresh_token),
    'invalid_grant',
    'its refresh token stops at once',
  );
  t.same(
    await app.services.introspection.introspect(tokens.access_token),
    { active: false },
    'introspection says inactive',
  );
  const { challenge } = pkce();
  const again = await flow.browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  t.match(again.body, /authorize\/consent/, 'the consent is forgotten: the app must ask again');
  const none = await app.inject({ method: 'DELETE', url: `/auth/apps/${client.id}`, headers: bearer(accessToken) });
  expectError(t, none, 'not_found', 'disconnecting twice');
});

t.test(
  'a client disabled and deleted at the same instant, with a live grant: deleted, the disable 200 or 404',
  async (t) => {
    const { app } = await buildTestApp(t);
    const admin = await adminSession(app);
    for (let round = 0; round < (databaseKind === 'postgres' ? 10 : 1); round++) {
      const { client } = await registerClient(app);
      const user = await register(app);
      const flow = await authorizeCode(app, client.id, user.email);
      t.equal(
        (await exchangeCode(app, client.id, flow.code, flow.verifier)).statusCode,
        200,
        `round ${round}: a grant`,
      );
      const [disabled, deleted] = await Promise.all([
        app.inject({ method: 'POST', url: `/admin/clients/${client.id}/disable`, headers: bearer(admin.accessToken) }),
        app.inject({ method: 'DELETE', url: `/admin/clients/${client.id}`, headers: bearer(admin.accessToken) }),
      ]);
      t.ok(
        (disabled.statusCode === 200 || disabled.statusCode === 404) && deleted.statusCode === 204,
        `round ${round}: disable ${disabled.statusCode}, deletion ${deleted.statusCode}`,
      );
    }
  },
);

t.test('50 replaces and new secrets at once with a deletion: deleted, each change 200 or 404', async (t) => {
  const { app } = await buildTestApp(t);
  const admin = await adminSession(app);
  const as = { headers: bearer(admin.accessToken) };
  for (let round = 0; round < (databaseKind === 'postgres' ? 10 : 1); round++) {
    const created = await app.inject({
      method: 'POST',
      url: '/admin/clients',
      ...as,
      payload: {
        client_name: 'Partner Web',
        redirect_uris: ['https://partner.example.com/cb'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    });
    const id = created.json().client_id as string;
    const changes = Array.from({ length: 50 }, (_, i) =>
      i % 2
        ? app.inject({
            method: 'PUT',
            url: `/admin/clients/${id}`,
            ...as,
            payload: { client_name: `Partner Web ${i}`, redirect_uris: ['https://partner.example.com/cb2'] },
          })
        : app.inject({ method: 'POST', url: `/admin/clients/${id}/secret`, ...as }),
    );
    const deletion = app.inject({ method: 'DELETE', url: `/admin/clients/${id}`, ...as });
    const [deleted, ...changed] = await Promise.all([deletion, ...changes]);
    t.equal(deleted!.statusCode, 204, `round ${round}: deleted`);
    const statuses = changed.map((res, i) => {
      const ok = res.statusCode === 200 || (res.statusCode === 404 && res.json().code === 'not_found');
      return ok ? 'ok' : `${i % 2 ? 'replace' : 'new secret'} ${res.statusCode}`;
    });
    t.same(
      [...new Set(statuses)].filter((s) => s !== 'ok'),
      [],
      `round ${round}: every change 200 or 404`,
    );
  }
});
