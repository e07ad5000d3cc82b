// Roles: stored per user, carried in access tokens as `roles` (RFC 9068 §2.2.3.1), picked up at the next
// refresh, answered by introspection as they are now, audited with the acting admin.
import t, { type Test } from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp, refresh, refreshCookieOf, session } from '../helper.js';
import { adminSession, bearer, introspect, meta, secretClient } from '../authz-fixtures.js';

const backend = secretClient('backend');

async function setup(t: Test) {
  return buildTestApp(t, { env: { SERVICE_CLIENTS: backend.entry } });
}

t.test('a user without roles gets tokens without a roles claim', async (t) => {
  const { app } = await setup(t);
  const s = await session(app);
  t.notOk('roles' in decodeJwt(s.accessToken), 'a user without roles gets no roles claim at all');
});

t.test('a role granted through /admin shows up in the access token at the next refresh', async (t) => {
  const { app } = await setup(t);
  const admin = await adminSession(app);
  const s = await session(app);
  const grant = await app.inject({
    method: 'PUT',
    url: `/admin/users/${s.user.id}/roles/billing:read`,
    headers: bearer(admin.accessToken),
  });
  t.equal(grant.statusCode, 200, "the admin's grant is accepted");
  t.same(grant.json(), { roles: ['billing:read'] }, "the grant answers the user's roles now");
  t.notOk('roles' in decodeJwt(s.accessToken), 'the token already issued is unchanged');
  const res = await refresh(app, s.refresh);
  t.equal(res.statusCode, 200, 'the refresh after the grant is accepted');
  t.same(
    decodeJwt(res.json().access_token).roles,
    ['billing:read'],
    'the refreshed access token carries the granted role',
  );

  const revoke = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${s.user.id}/roles/billing:read`,
    headers: bearer(admin.accessToken),
  });
  t.same(revoke.json(), { roles: [] }, 'the revoke answers that the user has no roles left');
  const after = await refresh(app, refreshCookieOf(res));
  t.notOk('roles' in decodeJwt(after.json().access_token), 'gone again after the next refresh');
});

t.test('introspection answers the roles the user has now, not those in the token', async (t) => {
  const { app } = await setup(t);
  const s = await session(app);
  await app.services.roles.grant(s.user.id, 'support', { kind: 'cli' }, meta);
  const res = await introspect(app, backend, s.accessToken);
  t.equal(res.json().active, true, "the user's token introspects as active");
  t.same(res.json().roles, ['support'], 'introspection reports the role granted after the token was issued');
});

t.test('grants and revokes write audit rows naming the acting admin', async (t) => {
  const { app } = await setup(t);
  const admin = await adminSession(app);
  const s = await session(app);
  await app.inject({
    method: 'PUT',
    url: `/admin/users/${s.user.id}/roles/support`,
    headers: bearer(admin.accessToken),
  });
  await app.inject({
    method: 'DELETE',
    url: `/admin/users/${s.user.id}/roles/support`,
    headers: bearer(admin.accessToken),
  });
  const rows = await app.services.database.prisma.auditEvent.findMany({
    where: { userId: s.user.id, type: { in: ['role_granted', 'role_revoked'] } },
    orderBy: { id: 'asc' },
  });
  t.same(
    rows.map((r) => [r.type, r.reason]),
    [
      ['role_granted', `support by user:${admin.user.id}`],
      ['role_revoked', `support by user:${admin.user.id}`],
    ],
    'the grant and the revoke are audited in order, each naming the acting admin',
  );
});

t.test('a role name that is not a short lowercase name is refused with invalid_role', async (t) => {
  const { app } = await setup(t);
  const admin = await adminSession(app);
  const s = await session(app);
  for (const role of ['Admin', 'a b', '1admin', 'x'.repeat(65), 'admin%2Cother']) {
    const res = await app.inject({
      method: 'PUT',
      url: `/admin/users/${s.user.id}/roles/${encodeURIComponent(role)}`,
      headers: bearer(admin.accessToken),
    });
    t.equal(res.statusCode, 400, role);
    t.equal(res.json().code, 'invalid_role', role);
  }
  t.equal(
    (
      await app.inject({
        method: 'PUT',
        url: `/admin/users/${s.user.id}/roles/billing:read`,
        headers: bearer(admin.accessToken),
      })
    ).statusCode,
    200,
    'positive control',
  );
});

t.test('50 simultaneous grants of one role leave one role row and one audit row', async (t) => {
  const { app } = await setup(t);
  const admin = await adminSession(app);
  const s = await session(app);
  const answers = await Promise.all(
    Array.from({ length: 50 }, () =>
      app.inject({ method: 'PUT', url: `/admin/users/${s.user.id}/roles/support`, headers: bearer(admin.accessToken) }),
    ),
  );
  t.same([...new Set(answers.map((r) => r.statusCode))], [200], 'all 50 simultaneous grants are answered with 200');
  const prisma = app.services.database.prisma;
  t.equal(await prisma.userRole.count({ where: { userId: s.user.id } }), 1, 'the user holds the role once');
  t.equal(
    await prisma.auditEvent.count({ where: { userId: s.user.id, type: 'role_granted' } }),
    1,
    'the grant is audited once',
  );
});

t.test('revoking a role with end_sessions=true ends every session of the user at once', async (t) => {
  const { app } = await setup(t);
  const admin = await adminSession(app);
  const s = await session(app);
  await app.services.roles.grant(s.user.id, 'support', { kind: 'cli' }, meta);
  const res = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${s.user.id}/roles/support?end_sessions=true`,
    headers: bearer(admin.accessToken),
  });
  t.equal(res.statusCode, 200, 'revoking with end_sessions=true is accepted');
  t.equal(
    (await introspect(app, backend, s.accessToken)).json().active,
    false,
    "the user's access token no longer introspects as active",
  );
  t.equal(
    (await refresh(app, s.refresh)).json().code,
    'session_revoked',
    "the user's refresh token is refused as session_revoked",
  );
});
