// Nobody can leave Tessera without an admin: the last enabled admin can't be demoted, disabled or deleted
// (by themself or anyone), and two admins removing each other at the same instant can't both succeed.
import t from 'tap';
import { buildTestApp, expectError, type TestApp } from '../helper.js';
import { adminSession, bearer, meta } from '../authz-fixtures.js';

type Admin = Awaited<ReturnType<typeof adminSession>>;

const demote = (app: TestApp, by: Admin, target: Admin) =>
  app.inject({ method: 'DELETE', url: `/admin/users/${target.user.id}/roles/admin`, headers: bearer(by.accessToken) });
const disable = (app: TestApp, by: Admin, target: Admin) =>
  app.inject({ method: 'POST', url: `/admin/users/${target.user.id}/disable`, headers: bearer(by.accessToken) });
const remove = (app: TestApp, by: Admin, target: Admin) =>
  app.inject({ method: 'DELETE', url: `/admin/users/${target.user.id}`, headers: bearer(by.accessToken) });

/** Enabled accounts with the role admin. */
async function enabledAdmins(app: TestApp): Promise<number> {
  return app.services.database.prisma.userRole.count({ where: { role: 'admin', user: { disabledAt: null } } });
}

t.test('the only admin can neither demote, disable nor delete themself', async (t) => {
  const { app } = await buildTestApp(t);
  const admin = await adminSession(app);
  expectError(t, await demote(app, admin, admin), 'last_admin', 'the last admin demoting themself');
  expectError(t, await disable(app, admin, admin), 'last_admin', 'the last admin disabling themself');
  expectError(t, await remove(app, admin, admin), 'last_admin', 'the last admin deleting themself');
  t.equal(await enabledAdmins(app), 1, 'the admin is still there, enabled');
  t.equal(
    (await app.inject({ url: '/admin/users', headers: bearer(admin.accessToken) })).statusCode,
    200,
    'and can still administer',
  );
});

t.test('with two admins one may go; then the remaining one is protected; the CLI is exempt', async (t) => {
  const { app } = await buildTestApp(t);
  const a = await adminSession(app);
  const b = await adminSession(app);
  t.equal((await demote(app, a, b)).statusCode, 200, 'an admin demotes the other while one remains');
  expectError(t, await disable(app, a, a), 'last_admin', 'then the remaining admin may not disable themself');
  await app.services.roles.grant(b.user.id, 'admin', { kind: 'cli' }, meta);
  t.equal((await disable(app, a, b)).statusCode, 200, 'a disabled admin does not count as one');
  expectError(t, await demote(app, a, a), 'last_admin', 'so the one enabled admin stays');
  t.equal((await remove(app, a, b)).statusCode, 204, 'deleting a disabled admin is fine');
  expectError(t, await remove(app, a, a), 'last_admin', 'deleting the last one is not');
  const other = await adminSession(app);
  await app.services.roles.revoke(other.user.id, 'admin', { kind: 'cli' }, meta);
  t.equal(
    await app.services.roles.revoke(a.user.id, 'admin', { kind: 'cli' }, meta),
    true,
    'the CLI, which needs no admin to grant one again, may still remove the last one',
  );
});

t.test('two admins demoting each other at the same instant: exactly one succeeds, one admin remains', async (t) => {
  const { app } = await buildTestApp(t);
  for (let round = 0; round < 5; round++) {
    const a = await adminSession(app);
    const b = await adminSession(app);
    const [ab, ba] = await Promise.all([demote(app, a, b), demote(app, b, a)]);
    t.equal(
      [ab, ba].filter((r) => r.statusCode === 200).length,
      1,
      `round ${round}: one demotion succeeds (got ${ab.statusCode}, ${ba.statusCode})`,
    );
    t.ok(
      [ab, ba].every((r) => [200, 403, 409].includes(r.statusCode)),
      `round ${round}: the other is refused (last_admin, or no longer an admin)`,
    );
    t.equal(await enabledAdmins(app), 1, `round ${round}: one enabled admin remains`);
    // Leave no admin for the next round (the CLI may), so each round starts from two.
    const prisma = app.services.database.prisma;
    await prisma.userRole.deleteMany({ where: { role: 'admin' } });
  }
});

t.test(
  '20 admins each removing themself at the same instant (demote, disable, delete) leave exactly one',
  async (t) => {
    const { app } = await buildTestApp(t);
    const admins: Admin[] = [];
    for (let i = 0; i < 20; i++) admins.push(await adminSession(app));
    const actions = [demote, disable, remove];
    const replies = await Promise.all(admins.map((a, i) => actions[i % 3]!(app, a, a)));
    const done = replies.filter((r) => r.statusCode === 200 || r.statusCode === 204);
    const refused = replies.filter((r) => r.statusCode === 409);
    t.equal(done.length, 19, '19 of the 20 leave');
    t.equal(refused.length, 1, 'the one who would have been the last is refused');
    expectError(t, refused[0]!, 'last_admin', 'the refusal');
    t.equal(await enabledAdmins(app), 1, 'exactly one enabled admin remains');
  },
);
