// Deleting an account, by an admin or by its owner, removes what identifies the person in one transaction:
// pending email tokens and mail to any of its addresses go, its audit rows lose addresses and user agents.
// The owner needs a login at most RECENT_LOGIN_SECONDS old.
import t from 'tap';
import { adminSession, bearer } from '../authz-fixtures.js';
import {
  buildTestApp,
  databaseKind,
  expectError,
  login,
  PASSWORD,
  refresh,
  register,
  uniqueEmail,
  type TestApp,
} from '../helper.js';
import { mailEnv, startSmtp } from '../mail-smtp.js';

const UA = 'Mozilla/5.0 (a browser that identifies its owner)';

/** An account with what identifies its owner everywhere: sessions, pending email to two addresses, audit rows. */
async function traces(t: Parameters<typeof startSmtp>[0], app: TestApp) {
  const { email } = await register(app);
  const s = await login(app, email, PASSWORD, { 'user-agent': UA });
  const newEmail = uniqueEmail();
  const asked = await app.inject({
    method: 'POST',
    url: '/auth/email/change',
    headers: { ...bearer(s.accessToken), 'user-agent': UA },
    payload: { new_email: newEmail },
  });
  t.equal(asked.statusCode, 202, 'an address change is pending (a token and mail to the new address)');
  const userId = (await app.inject({ url: '/auth/me', headers: bearer(s.accessToken) })).json().id as string;
  return { email, newEmail, userId, ...s };
}

async function leftOf(app: TestApp, who: { email: string; newEmail: string; userId: string }) {
  const prisma = app.services.database.prisma;
  return {
    tokens: await prisma.emailToken.count({ where: { userId: who.userId } }),
    mail: await prisma.mailMessage.count({
      where: { recipient: { in: [who.email, who.newEmail], mode: 'insensitive' } },
    }),
    // The person's own rows (an admin's deletion row holds the admin's address, not theirs).
    identifying: await prisma.auditEvent.count({
      where: {
        userId: who.userId,
        type: { not: 'account_deleted' },
        OR: [{ ip: { not: null } }, { userAgent: { not: null } }],
      },
    }),
    audit: await prisma.auditEvent.count({ where: { userId: who.userId } }),
    sessions: await prisma.session.count({ where: { userId: who.userId } }),
  };
}

t.test(
  'an admin deletes an account: its email tokens, mail and audit addresses go in the same transaction',
  async (t) => {
    const smtp = await startSmtp(t);
    const { app } = await buildTestApp(t, { env: mailEnv(smtp, { EMAIL_CHANGE_URL: 'https://app.example.com/e' }) });
    const admin = await adminSession(app);
    const who = await traces(t, app);
    const before = await leftOf(app, who);
    t.ok(
      before.tokens > 0 && before.mail > 0 && before.identifying > 0,
      `the account left traces first (${JSON.stringify(before)})`,
    );
    const res = await app.inject({
      method: 'DELETE',
      url: `/admin/users/${who.userId}`,
      headers: bearer(admin.accessToken),
    });
    t.equal(res.statusCode, 204, 'the admin deletes the account');
    const after = await leftOf(app, who);
    t.same(
      { ...after, audit: after.audit > 0 },
      { tokens: 0, mail: 0, identifying: 0, audit: true, sessions: 0 },
      'no email token, no mail to either address, audit rows kept without addresses or user agents',
    );
  },
);

t.test('a user deletes their own account with a recent login; an older login must sign in again', async (t) => {
  const smtp = await startSmtp(t);
  const { app, clock } = await buildTestApp(t, {
    env: mailEnv(smtp, { EMAIL_CHANGE_URL: 'https://app.example.com/e', RECENT_LOGIN_SECONDS: '300' }),
  });
  const who = await traces(t, app);
  clock.advance(301);
  expectError(
    t,
    await app.inject({ method: 'DELETE', url: '/auth/account', headers: bearer(who.accessToken) }),
    'reauthentication_required',
    'a login older than RECENT_LOGIN_SECONDS cannot delete the account',
  );
  t.equal(
    (await app.inject({ url: '/auth/me', headers: bearer(who.accessToken) })).statusCode,
    200,
    'and the account is still there',
  );

  const fresh = await login(app, who.email, PASSWORD, { 'user-agent': UA });
  const res = await app.inject({
    method: 'DELETE',
    url: '/auth/account',
    headers: { ...bearer(fresh.accessToken), 'user-agent': UA },
  });
  t.equal(res.statusCode, 204, 'with a fresh login the owner deletes the account');
  t.match(String(res.headers['set-cookie']), /Max-Age=0|Expires=Thu, 01 Jan 1970/, 'and the refresh cookie is cleared');
  const after = await leftOf(app, who);
  t.same(
    { ...after, audit: after.audit > 0 },
    { tokens: 0, mail: 0, identifying: 0, audit: true, sessions: 0 },
    'no email token, no mail, no address or user agent in the audit rows',
  );
  t.same(
    await app.services.database.prisma.auditEvent.findMany({
      where: { userId: who.userId, type: 'account_deleted' },
      select: { ip: true, userAgent: true },
    }),
    [{ ip: null, userAgent: null }],
    'not even in the row recording the deletion by its owner',
  );
  expectError(
    t,
    await app.inject({ method: 'POST', url: '/auth/login', payload: { email: who.email, password: PASSWORD } }),
    'invalid_credentials',
    'the password no longer signs in',
  );
  t.equal((await refresh(app, who.refresh)).statusCode, 401, 'the old refresh token is dead');
  t.equal(
    (await app.inject({ url: '/auth/me', headers: bearer(fresh.accessToken) })).statusCode,
    401,
    'the access token no longer opens anything',
  );
});

t.test('30 deletions of one account at the same instant: one 204, the rest refused, no 5xx', async (t) => {
  const { app } = await buildTestApp(t);
  const { email } = await register(app);
  const s = await login(app, email);
  const all = await Promise.all(
    Array.from({ length: 30 }, () =>
      app.inject({ method: 'DELETE', url: '/auth/account', headers: bearer(s.accessToken) }),
    ),
  );
  const statuses = all.map((r) => r.statusCode);
  t.equal(statuses.filter((c) => c === 204).length, 1, 'exactly one deletion succeeds');
  t.ok(
    statuses.every((c) => c === 204 || c === 401 || c === 404),
    `the others are refused as a token of no account or no such user (${[...new Set(statuses)].join(', ')})`,
  );
  t.equal(
    await app.services.database.prisma.auditEvent.count({ where: { type: 'account_deleted' } }),
    1,
    'one account_deleted audit row',
  );
});

t.test('a deletion and an admin disable of one account at the same instant: one of them wins, no 5xx', async (t) => {
  const { app } = await buildTestApp(t);
  const admin = await adminSession(app);
  // Both take the user's row and the lock on the set of admins: in the same order, or PostgreSQL ends one of
  // them as a deadlock (a 500). PGlite runs one statement at a time, so there one round is a plain check.
  for (let round = 0; round < (databaseKind === 'postgres' ? 10 : 1); round++) {
    const { email, user } = await register(app);
    const s = await login(app, email);
    const [deleted, disabled] = await Promise.all([
      app.inject({ method: 'DELETE', url: '/auth/account', headers: bearer(s.accessToken) }),
      app.inject({ method: 'POST', url: `/admin/users/${user.id}/disable`, headers: bearer(admin.accessToken) }),
    ]);
    t.ok(
      deleted.statusCode < 500 && disabled.statusCode < 500,
      `round ${round}: deletion ${deleted.statusCode}, disable ${disabled.statusCode}, neither a 5xx`,
    );
    t.ok(deleted.statusCode === 204 || disabled.statusCode === 200, `round ${round}: one of them took effect`);
  }
});
