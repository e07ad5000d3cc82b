// A second factor confirmed while a password login is checking the password is asked for, not skipped. The login
// reads the account (and whether it has a factor) before the argon2 check; the session's start statement checks
// again (session-lifecycle.ts, SecondStep.afterPassword). Fifty logins are held right after their password
// check, the factor is confirmed, then they all go on at once: every one must answer mfa_required, and none may
// start a session. PGlite and PostgreSQL.
import t from 'tap';
import { buildTestApp, login, PASSWORD, register } from '../helper.js';
import { codeAt, confirm, enrol } from '../mfa-fixture.js';

const LOGINS = 50;

t.test('logins that read the account before its factor was confirmed still take the second step', async (t) => {
  const { app, clock, db } = await buildTestApp(t);
  const { email, user } = await register(app);
  const { accessToken } = await login(app, email);
  const { factor_id, secret } = await enrol(app, accessToken);

  // Hold every login after its password check until the factor is confirmed.
  const hasher = app.services.passwords;
  const verify = hasher.verify.bind(hasher);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let checked = 0;
  let allChecked!: () => void;
  const everyoneChecked = new Promise<void>((resolve) => (allChecked = resolve));
  hasher.verify = async (hash: string, password: string) => {
    const ok = await verify(hash, password);
    if (++checked === LOGINS) allChecked();
    await gate;
    return ok;
  };
  t.teardown(() => Reflect.deleteProperty(hasher, 'verify'));

  const attempts = Array.from({ length: LOGINS }, (_, i) =>
    app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: PASSWORD },
      remoteAddress: `10.30.0.${i + 1}`,
    }),
  );
  await everyoneChecked;
  const confirmed = await confirm(app, accessToken, factor_id, codeAt(secret, clock.now()));
  t.equal(confirmed.statusCode, 200, 'the factor is confirmed (committed) while every login holds a right password');
  release();
  const answers = await Promise.all(attempts);

  t.same(
    answers.map((r) => r.statusCode),
    Array(LOGINS).fill(200),
    'every login is answered',
  );
  t.ok(
    answers.every((r) => r.json().mfa_required === true && typeof r.json().mfa_token === 'string'),
    'every login asks for the second factor confirmed before its session would have started',
  );
  t.ok(
    answers.every((r) => r.json().access_token === undefined && r.cookies.length === 0),
    'no login got tokens or a refresh cookie from the password alone',
  );
  const sessions = await db.database.prisma.session.count({ where: { userId: user.id } });
  t.equal(sessions, 1, 'the only session of the account is the one that enrolled the factor');
});
