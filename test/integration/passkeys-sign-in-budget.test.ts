// Refused usernameless passkey sign-ins are counted per address, never in the account's second-factor failure
// budget (src/domain/passkeys/passkey-assertion.ts says why): a credential id is no secret and a signature cannot
// be guessed, so whoever sends refused answers naming a victim's passkey, at once, from one instance or two on
// one database, must not lock the victim out. The victim's passkey still signs in, and so does their password
// with the passkey as the second step; the account's budget still counts second-step failures after a password;
// and one address sending refused answers meets the per-address limit.
import t from 'tap';
import { buildTestApp, expectError, ManualClock, PASSWORD, type TestApp } from '../helper.js';
import { PER_ACCOUNT } from '../../src/domain/mfa/failure-budget.js';
import type { SoftAuthenticator } from '../passkey-authenticator.js';
import { PASSKEY_ENV, signInOptions, signInVerify, userWithPasskey } from '../passkey-fixture.js';
import { verify } from '../mfa-fixture.js';

/** `n` sign-in attempts whose answers are signed for another challenge: a refusal each, sent at once. */
async function wrongAnswers(apps: TestApp[], authenticator: SoftAuthenticator, n: number) {
  const prepared = [];
  for (let i = 0; i < n; i++) {
    const app = apps[i % apps.length]!;
    const { challenge_id } = await signInOptions(app);
    prepared.push({ app, challenge_id, response: authenticator.assert({ challenge: 'bm90LXRoaXMtY2hhbGxlbmdl' }) });
  }
  return Promise.all(prepared.map((p) => signInVerify(p.app, p.challenge_id, p.response)));
}

async function genuine(app: TestApp, authenticator: SoftAuthenticator) {
  const { challenge_id, options } = await signInOptions(app);
  return signInVerify(app, challenge_id, authenticator.assert(options));
}

/** The password, then the passkey as the second step: the answer of POST /auth/mfa/verify. */
async function passwordThenPasskey(app: TestApp, email: string, authenticator: SoftAuthenticator) {
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  const opts = await app.inject({
    method: 'POST',
    url: '/auth/mfa/passkey/options',
    payload: { mfa_token: first.json().mfa_token },
  });
  return verify(app, {
    mfa_token: first.json().mfa_token,
    challenge_id: opts.json().challenge_id,
    response: authenticator.assert(opts.json().options),
  });
}

const codes = (res: { json(): { code?: string } }[]) => res.map((r) => r.json().code);

t.test('20 refused passkey sign-ins at once naming a victim’s passkey do not lock the victim out', async (t) => {
  const clock = new ManualClock(new Date());
  const { app, db } = await buildTestApp(t, { clock, env: PASSKEY_ENV });
  const { authenticator, email, user } = await userWithPasskey(app);
  const wrong = await wrongAnswers([app], authenticator, 20);
  t.same(
    codes(wrong),
    Array.from({ length: 20 }, () => 'passkey_sign_in_failed'),
    'each refused answer is checked and refused; none meets an account lock',
  );
  t.equal(
    await db.database.prisma.mfaGuard.count({ where: { userId: user.id } }),
    0,
    'nothing is charged to the victim’s second-factor budget',
  );
  t.equal(
    await db.database.prisma.auditEvent.count({ where: { type: 'passkey_sign_in_failed', userId: user.id } }),
    20,
    'each refusal is still audited on the account',
  );
  const signedIn = await genuine(app, authenticator);
  t.equal(signedIn.statusCode, 200, 'the victim’s passkey signs in');
  const twoStep = await passwordThenPasskey(app, email, authenticator);
  t.equal(twoStep.statusCode, 200, 'and the victim’s password with the passkey as second step signs in too');
});

t.test('two instances on one database: 40 refused sign-ins split between them lock nothing', async (t) => {
  const clock = new ManualClock(new Date());
  const first = await buildTestApp(t, { clock, env: PASSKEY_ENV });
  const second = await buildTestApp(t, { clock, env: PASSKEY_ENV, db: first.db, keysDir: first.keysDir });
  const { authenticator } = await userWithPasskey(first.app);
  const wrong = await wrongAnswers([first.app, second.app], authenticator, 40);
  t.equal(wrong.filter((r) => r.statusCode === 200).length, 0, 'none signed in');
  t.notOk(codes(wrong).includes('mfa_locked'), 'none met an account lock');
  for (const [name, app] of [
    ['first', first.app],
    ['second', second.app],
  ] as const)
    t.equal((await genuine(app, authenticator)).statusCode, 200, `the genuine passkey signs in on the ${name}`);
});

t.test('the account’s budget still counts second-step failures after a password', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock, env: PASSKEY_ENV });
  const { authenticator, email } = await userWithPasskey(app);
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  t.equal(first.json().mfa_required, true, 'with a passkey that verified the user, the password asks for more');
  const wrongSteps = [];
  for (let i = 0; i < PER_ACCOUNT + 2; i++) {
    const step = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
    const opts = await app.inject({
      method: 'POST',
      url: '/auth/mfa/passkey/options',
      payload: { mfa_token: step.json().mfa_token },
    });
    wrongSteps.push({
      mfa_token: step.json().mfa_token,
      challenge_id: opts.json().challenge_id,
      response: authenticator.assert({ challenge: 'bm90LXRoaXMtY2hhbGxlbmdl' }),
    });
  }
  const answers = await Promise.all(wrongSteps.map((p) => verify(app, p)));
  t.equal(
    codes(answers).filter((c) => c === 'mfa_locked').length,
    2,
    `after ${PER_ACCOUNT} refused second steps, the account's second step is locked`,
  );
  expectError(t, await passwordThenPasskey(app, email, authenticator), 'mfa_locked', 'the lock holds');
  t.equal(
    (await genuine(app, authenticator)).statusCode,
    200,
    'a usernameless passkey sign-in is a whole proof of its own and is not held by that lock',
  );
});

t.test('one address sending refused passkey sign-ins meets the per-address limit', async (t) => {
  const { app } = await buildTestApp(t, { env: { ...PASSKEY_ENV, RATE_LIMIT_PER_MINUTE: '20' } });
  const { authenticator } = await userWithPasskey(app);
  const wrong = await wrongAnswers([app], authenticator, 20);
  t.ok(
    codes(wrong).every((c) => c === 'passkey_sign_in_failed'),
    'within the address limit each answer is checked',
  );
  const over = await app.inject({
    method: 'POST',
    url: '/auth/passkeys/sign-in/verify',
    payload: { challenge_id: 'x'.repeat(43), response: {} },
  });
  expectError(t, over, 'too_many_requests', 'past the limit the address is refused before any check');
});
