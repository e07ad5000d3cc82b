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
  t.notOk('roles' in decodeJwt(s.accessToken));
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
  t.equal(grant.statusCode, 200);
  t.same(grant.json(), { roles: ['billing:read'] });
  t.notOk('roles' in decodeJwt(s.accessToken), 'the token already issued is unchanged');
  const res = await refresh(app, s.refresh);
  t.equal(res.statusCode, 200);
  t.same(decodeJwt(res.json().access_token).roles, ['billing:read']);

  const revoke = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${s.user.id}/roles/billing:read`,
    headers: bearer(admin.accessToken),
  });
  t.same(revoke.json(), { roles: [] });
  const after = await refresh(app, refreshCookieOf(res));
  t.notOk('roles' in decodeJwt(after.json().access_token), 'gone again after the next refresh');
});

t.test('introspection answers the roles the user has now, not those in the token', async (t) => {
  const { app } = await setup(t);
  const s = await session(app);
  await app.services.roles.grant(s.user.id, 'support', { kind: 'cli' }, meta);
  const res = await introspect(app, backend, s.accessToken);
  t.equal(res.json().active, true);
  t.same(res.json().roles, ['support']);
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
  t.same([...new Set(answers.map((r) => r.statusCode))], [200]);
  const prisma = app.services.database.prisma;
  t.equal(await prisma.userRole.count({ where: { userId: s.user.id } }), 1);
  t.equal(await prisma.auditEvent.count({ where: { userId: s.user.id, type: 'role_granted' } }), 1);
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
  t.equal(res.statusCode, 200);
  t.equal((await introspect(app, backend, s.accessToken)).json().active, false);
  t.equal((await refresh(app, s.refresh)).json().code, 'session_revoked');
});
