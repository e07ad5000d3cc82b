// An admin's view of a user's connected apps: GET /admin/users/{id}/apps lists them in the user's own shape,
// DELETE …/apps/{client_id} revokes one through the same end as the user's disconnect (its refresh tokens stop,
// introspection says inactive, the consent is forgotten), leaves the user's other apps alone, and is audited
// with the admin. Revoking is a one-time thing: of 20 at once, one ends the grant and the rest find nothing.
import t from 'tap';
import { buildTestApp, expectError, login, register } from '../helper.js';
import { adminSession, bearer } from '../authz-fixtures.js';
import { authorizeCode, exchangeCode, refreshGrant, registerClient } from '../oauth-server-fixtures.js';

t.test(
  'an admin lists a user’s connected apps and revokes one: its tokens stop, the other app keeps working',
  async (t) => {
    const { app } = await buildTestApp(t);
    const admin = await adminSession(app);
    const notes = (await registerClient(app)).client;
    const mail = (await registerClient(app, { client_name: 'Mail for Desktop' })).client;
    const user = await register(app);
    const tokens = async (clientId: string) => {
      const flow = await authorizeCode(app, clientId, user.email);
      return (await exchangeCode(app, clientId, flow.code, flow.verifier)).json();
    };
    const notesTokens = await tokens(notes.id);
    const mailTokens = await tokens(mail.id);

    const listed = await app.inject({ url: `/admin/users/${user.user.id}/apps`, headers: bearer(admin.accessToken) });
    t.equal(listed.statusCode, 200, 'the admin lists the user’s apps');
    t.same(
      listed.json().apps.map((a: { client_name: string }) => a.client_name),
      ['Mail for Desktop', 'Notes for Desktop'],
      'both apps the user connected, by name',
    );
    t.match(
      listed.json().apps[1],
      { client_id: notes.id, scope: 'openid email offline_access', granted_at: String, last_used_at: String },
      'each with its scopes, when it was granted and when it was last used (snake_case, as the user sees it)',
    );

    const revoked = await app.inject({
      method: 'DELETE',
      url: `/admin/users/${user.user.id}/apps/${notes.id}`,
      headers: bearer(admin.accessToken),
    });
    t.equal(revoked.statusCode, 204, 'revoking answers 204');
    expectError(t, await refreshGrant(app, notes.id, notesTokens.refresh_token), 'invalid_grant', 'its refresh token');
    t.same(
      await app.services.introspection.introspect(notesTokens.access_token),
      { active: false },
      'introspection says its access token is inactive',
    );
    t.equal(
      (await refreshGrant(app, mail.id, mailTokens.refresh_token)).statusCode,
      200,
      'the user’s other app keeps working',
    );
    const after = await app.inject({ url: `/admin/users/${user.user.id}/apps`, headers: bearer(admin.accessToken) });
    t.same(
      after.json().apps.map((a: { client_id: string }) => a.client_id),
      [mail.id],
      'the revoked app is no longer listed: its consent is forgotten and no grant is live',
    );
    const audit = await app.services.database.prisma.auditEvent.findFirst({
      where: { type: 'oauth_grant_revoked', userId: user.user.id },
    });
    t.match(
      audit?.reason,
      new RegExp(`^client ${notes.id} by user:${admin.user.id}; 1 grants ended$`),
      'the revocation is audited with the client, the admin and what it ended',
    );
    expectError(
      t,
      await app.inject({
        method: 'DELETE',
        url: `/admin/users/${user.user.id}/apps/${notes.id}`,
        headers: bearer(admin.accessToken),
      }),
      'not_found',
      'revoking an app that is no longer connected',
    );
  },
);

t.test('listing the apps of an unknown user is not_found, and only an admin may list them', async (t) => {
  const { app } = await buildTestApp(t);
  const admin = await adminSession(app);
  const user = await register(app);
  expectError(
    t,
    await app.inject({
      url: '/admin/users/00000000-0000-4000-8000-000000000000/apps',
      headers: bearer(admin.accessToken),
    }),
    'not_found',
    'an unknown user',
  );
  expectError(
    t,
    await app.inject({ url: '/admin/users/not-a-uuid/apps', headers: bearer(admin.accessToken) }),
    'invalid_request',
    'an id that is not a UUID',
  );
  const { accessToken } = await login(app, user.email);
  expectError(
    t,
    await app.inject({ url: `/admin/users/${user.user.id}/apps`, headers: bearer(accessToken) }),
    'insufficient_scope',
    'a user who is not an admin',
  );
});

t.test(
  'of 20 revocations of one app at the same instant, one ends the grant and one audit row is written',
  async (t) => {
    const { app } = await buildTestApp(t);
    const admin = await adminSession(app);
    const { client } = await registerClient(app);
    const user = await register(app);
    const flow = await authorizeCode(app, client.id, user.email);
    const tokens = (await exchangeCode(app, client.id, flow.code, flow.verifier)).json();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.inject({
          method: 'DELETE',
          url: `/admin/users/${user.user.id}/apps/${client.id}`,
          headers: bearer(admin.accessToken),
        }),
      ),
    );
    t.equal(answers.filter((r) => r.statusCode === 204).length, 1, 'exactly one revocation ends the grant');
    for (const r of answers.filter((r) => r.statusCode !== 204)) expectError(t, r, 'not_found', 'a later revocation');
    t.equal(
      await app.services.database.prisma.auditEvent.count({
        where: { type: 'oauth_grant_revoked', userId: user.user.id },
      }),
      1,
      'one audit row for the one revocation',
    );
    expectError(t, await refreshGrant(app, client.id, tokens.refresh_token), 'invalid_grant', 'the refresh token');
  },
);
