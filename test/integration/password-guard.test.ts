// Every place that checks a password goes through one guarded check (src/domain/accounts/password-guard.ts):
// at login, password change and email change, 30 wrong guesses fired at the same instant get one argon2
// verification and 29 refusals; failures at one form count toward the lock of the others (one counter per
// account and address); each failure leaves an audit row naming the account and session.
import t, { type Test } from 'tap';
import {
  buildTestApp,
  expectError,
  login,
  ManualClock,
  PASSWORD,
  register,
  uniqueEmail,
  type TestApp,
} from '../helper.js';
import { mailEnv, startSmtp } from '../mail-smtp.js';

const BURST = 30;
const WRONG = 'not the password at all';

type Reply = Awaited<ReturnType<TestApp['inject']>>;

/** Counts argon2 verifications (real and dummy) from now on. */
function countVerifications(app: TestApp): () => number {
  let calls = 0;
  const { passwords } = app.services;
  const verify = passwords.verify.bind(passwords);
  passwords.verify = (hash, password) => {
    calls++;
    return verify(hash, password);
  };
  return () => calls;
}

async function appWithMail(t: Test, clock = new ManualClock()) {
  const smtp = await startSmtp(t);
  return buildTestApp(t, { clock, env: mailEnv(smtp) });
}

const forms: Record<string, (app: TestApp, email: string, accessToken: string, password: string) => Promise<Reply>> = {
  'POST /auth/login': (app, email, _at, password) =>
    app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } }),
  'POST /auth/password': (app, _email, accessToken, password) =>
    app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: { authorization: `Bearer ${accessToken}` },
      payload: { current_password: password, new_password: 'a brand new passphrase' },
    }),
  'POST /auth/email/change': (app, _email, accessToken, password) =>
    app.inject({
      method: 'POST',
      url: '/auth/email/change',
      headers: { authorization: `Bearer ${accessToken}` },
      payload: { new_email: uniqueEmail(), current_password: password },
    }),
};

for (const [form, send] of Object.entries(forms)) {
  t.test(`${BURST} wrong passwords at once at ${form}: one is evaluated, the rest are throttled`, async (t) => {
    const clock = new ManualClock();
    const { app } = await appWithMail(t, clock);
    const { email } = await register(app);
    const { accessToken } = await login(app, email);
    // Spend the free failures and let the lock they lead to expire: from here each failure locks again, so
    // a burst must get exactly one guess evaluated (the first five of a fresh account are free by policy).
    for (let i = 0; i < 6; i++) await send(app, email, accessToken, WRONG);
    expectError(t, await send(app, email, accessToken, WRONG), 'too_many_requests', `${form} locks after six`);
    clock.advance(2);
    const evaluated = countVerifications(app);
    const replies = await Promise.all(Array.from({ length: BURST }, () => send(app, email, accessToken, WRONG)));
    t.equal(evaluated(), 1, `one argon2 verification for ${BURST} simultaneous guesses at ${form}`);
    const refused = replies.filter((r) => r.statusCode === 429);
    t.equal(refused.length, BURST - 1, 'every other guess is refused without being evaluated');
    expectError(t, refused[0]!, 'too_many_requests', `a throttled guess at ${form}`);
    t.ok(Number(refused[0]!.headers['retry-after']) >= 1, 'with Retry-After');
    const answered = replies.find((r) => r.statusCode !== 429)!;
    expectError(
      t,
      answered,
      form === 'POST /auth/login' ? 'invalid_credentials' : 'current_password_incorrect',
      'the one evaluated guess',
    );
  });
}

t.test(
  `${BURST} wrong passwords at once at a fresh account's email-change form: at most the free ones are evaluated`,
  async (t) => {
    const { app } = await appWithMail(t);
    const { email } = await register(app);
    const { accessToken } = await login(app, email);
    const evaluated = countVerifications(app);
    const replies = await Promise.all(
      Array.from({ length: BURST }, () => forms['POST /auth/email/change']!(app, email, accessToken, WRONG)),
    );
    t.ok(evaluated() <= 6, `at most 6 of ${BURST} simultaneous guesses are evaluated (got ${evaluated()})`);
    t.ok(replies.filter((r) => r.statusCode === 429).length >= BURST - 6, 'the others are refused with 429');
  },
);

t.test('wrong passwords at the email-change form lock the login of that account from that address', async (t) => {
  const clock = new ManualClock();
  const { app } = await appWithMail(t, clock);
  const { email, user } = await register(app);
  const { accessToken, res } = await login(app, email);
  const sid = JSON.parse(Buffer.from(res.json().access_token.split('.')[1], 'base64url').toString()).sid;
  for (let i = 0; i < 6; i++) {
    expectError(
      t,
      await forms['POST /auth/email/change']!(app, email, accessToken, WRONG),
      'current_password_incorrect',
      `wrong guess ${i + 1}`,
    );
  }
  expectError(
    t,
    await forms['POST /auth/email/change']!(app, email, accessToken, PASSWORD),
    'too_many_requests',
    'after six wrong guesses even the right password waits out the lock',
  );
  expectError(
    t,
    await forms['POST /auth/login']!(app, email, accessToken, PASSWORD),
    'too_many_requests',
    'and so does a login from the same address: one counter for every form',
  );
  const elsewhere = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: PASSWORD },
    remoteAddress: '198.51.100.9',
  });
  t.equal(elsewhere.statusCode, 200, 'the owner at another address is not locked out');
  const rows = await app.services.database.prisma.auditEvent.findMany({
    where: { type: 'email_change_failed' },
    select: { userId: true, sessionId: true, reason: true },
  });
  t.same(
    rows,
    Array.from({ length: 6 }, () => ({ userId: user.id, sessionId: sid, reason: 'wrong_password' })),
    'each wrong guess is audited with the account and session',
  );
  t.equal(
    await app.services.database.prisma.auditEvent.count({ where: { type: 'login_throttled', userId: user.id } }),
    1,
    'the throttled email change is audited too',
  );
  clock.advance(2);
  t.equal(
    (await forms['POST /auth/email/change']!(app, email, accessToken, PASSWORD)).statusCode,
    202,
    'once the lock ends the right password is accepted',
  );
});

t.test('an account without a password costs one verification at the email-change form, like a wrong one', async (t) => {
  const { app } = await appWithMail(t);
  const { email, user } = await register(app);
  const { accessToken } = await login(app, email);
  await app.services.database.prisma.user.update({ where: { id: user.id }, data: { passwordHash: null } });
  const evaluated = countVerifications(app);
  expectError(
    t,
    await forms['POST /auth/email/change']!(app, email, accessToken, PASSWORD),
    'current_password_incorrect',
    'any password is wrong for an account without one',
  );
  t.equal(evaluated(), 1, 'it still costs one (dummy) verification');
  const [row] = await app.services.database.prisma.auditEvent.findMany({ where: { type: 'email_change_failed' } });
  t.equal(row?.reason, 'no_password', 'audited as no_password');
});
