// A session start is one statement that takes the user row FOR SHARE (session-lifecycle.ts): logins racing a
// password change or an admin's disable either started their session before the change committed (and the
// change then ended it, as it ends every other session) or are refused with the error they got before the
// start was one statement: invalid_credentials for the old password, account_disabled for a disabled account.
//
// Twenty logins at the same instant, each from its own address (the guess throttle allows one guess at a time
// per account and address). So that the race is not left to the scheduler, the password hasher of the app is
// wrapped: the first half of the logins to pass their password check go on at once, racing the change's
// commit; the second half are held after their check until the change has been answered, so their session's
// start certainly comes after it (the case "checked the old password, starts after the change"). Runs on
// PGlite and PostgreSQL.
import t, { type Test } from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp, expectError, login, PASSWORD, register, type TestApp } from '../helper.js';
import { adminSession, bearer } from '../authz-fixtures.js';

const LOGINS = 20;
const HALF = LOGINS / 2;
const NEW_PASSWORD = 'a new and different passphrase';

/** The responses of twenty logins with PASSWORD, sent at the same instant from twenty addresses. */
function logins(app: TestApp, email: string) {
  return Promise.all(
    Array.from({ length: LOGINS }, (_, i) =>
      app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password: PASSWORD },
        remoteAddress: `10.20.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      }),
    ),
  );
}

/**
 * From now on, the first HALF password checks of the app return at once (then `onHalf` runs), and the others
 * return only once `until` has settled. Undone at the test's end.
 */
function holdSecondHalf(t: Test, app: TestApp, onHalf: () => void, until: () => Promise<unknown>): void {
  const hasher = app.services.passwords;
  const verify = hasher.verify.bind(hasher);
  let checked = 0;
  hasher.verify = async (hash, password) => {
    const ok = await verify(hash, password);
    if (++checked <= HALF) {
      if (checked === HALF) onHalf();
      return ok;
    }
    await until().catch(() => undefined);
    return ok;
  };
  t.teardown(() => Reflect.deleteProperty(hasher, 'verify'));
}

/** The sessions of `userId` other than `except`, with how they ended. */
async function otherSessions(app: TestApp, userId: string, except: string) {
  return app.services.database.prisma.session.findMany({
    where: { userId, id: { not: except } },
    select: { id: true, revokedAt: true, revokedReason: true },
  });
}

t.test('logins racing a password change open no session with the old password once the change committed', async (t) => {
  const { app } = await buildTestApp(t);
  const { email, user } = await register(app);
  const own = await login(app, email);
  const ownSession = decodeJwt(own.accessToken).sid as string;

  // The change checks the current password, then waits in its hashing of the new one until half the logins
  // passed their check; then it commits while those start their sessions.
  const hasher = app.services.passwords;
  const hash = hasher.hash.bind(hasher);
  let halfChecked!: () => void;
  const half = new Promise<void>((resolve) => {
    halfChecked = resolve;
  });
  let hashing!: () => void;
  const inHash = new Promise<void>((resolve) => {
    hashing = resolve;
  });
  hasher.hash = async (password) => {
    hashing();
    await half;
    return hash(password);
  };
  t.teardown(() => Reflect.deleteProperty(hasher, 'hash'));
  const changing = app.inject({
    method: 'POST',
    url: '/auth/password',
    headers: bearer(own.accessToken),
    payload: { current_password: PASSWORD, new_password: NEW_PASSWORD },
  });
  await inHash;
  holdSecondHalf(t, app, halfChecked, () => changing);
  const answers = await logins(app, email);
  const change = await changing;
  t.equal(change.statusCode, 204, 'the password change is accepted');
  const accepted = answers.filter((r) => r.statusCode === 200);
  const refused = answers.filter((r) => r.statusCode !== 200);
  t.ok(refused.length >= HALF, 'every login held until the change was answered is refused');
  for (const res of refused) expectError(t, res, 'invalid_credentials', 'a login with the old password refused');
  t.comment(`${accepted.length} of ${LOGINS} logins started a session before the change committed`);

  const started = await otherSessions(app, user.id, ownSession);
  t.equal(started.length, accepted.length, 'every accepted login started one session, and no refused one did');
  t.same(
    started.filter((s) => s.revokedAt === null || s.revokedReason !== 'password_changed'),
    [],
    'each of them started before the change committed: the change ended it, none is live with the old password',
  );
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } })).statusCode,
    401,
    'the old password opens nothing afterwards',
  );
  t.ok(await login(app, email, NEW_PASSWORD), 'the new password signs in');
});

t.test('logins racing an admin disable open no session once the disable committed', async (t) => {
  const { app } = await buildTestApp(t);
  const admin = await adminSession(app);
  const { email, user } = await register(app);

  let disabling: Promise<Awaited<ReturnType<TestApp['inject']>>> | undefined;
  holdSecondHalf(
    t,
    app,
    () => {
      disabling = app.inject({
        method: 'POST',
        url: `/admin/users/${user.id}/disable`,
        headers: bearer(admin.accessToken),
      });
    },
    () => disabling!,
  );
  const answers = await logins(app, email);
  const disable = await disabling!;
  t.equal(disable.statusCode, 200, 'the disable is accepted');
  const accepted = answers.filter((r) => r.statusCode === 200);
  const refused = answers.filter((r) => r.statusCode !== 200);
  t.ok(refused.length >= HALF, 'every login held until the disable was answered is refused');
  for (const res of refused) expectError(t, res, 'account_disabled', 'a login refused after the disable');
  t.comment(`${accepted.length} of ${LOGINS} logins started a session before the disable committed`);

  const started = await otherSessions(app, user.id, '00000000-0000-0000-0000-000000000000');
  t.equal(started.length, accepted.length, 'every accepted login started one session, and no refused one did');
  t.equal(disable.json().ended_sessions, accepted.length, 'the disable ended exactly the sessions started before it');
  t.same(
    started.filter((s) => s.revokedAt === null || s.revokedReason !== 'account_disabled'),
    [],
    'none is live: each started before the disable committed, and the disable ended it',
  );
  expectError(
    t,
    await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } }),
    'account_disabled',
    'a login after the disable',
  );
});
