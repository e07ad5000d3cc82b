// Usernameless passkey sign-ins count in the account's one failure budget (src/domain/mfa/failure-budget.ts):
// 50 refused answers at once, on one instance or split between two on one database, get at most the budget
// checked; the lock then refuses the genuine passkey, and the second step of a password sign-in too (one budget,
// not one per way of proving); a success gives the count back; the lock runs out by itself.
import t from 'tap';
import { buildTestApp, expectError, ManualClock, PASSWORD, type TestApp } from '../helper.js';
import { LOCK_SECONDS, PER_ACCOUNT } from '../../src/domain/mfa/failure-budget.js';
import type { SoftAuthenticator } from '../passkey-authenticator.js';
import { PASSKEY_ENV, signInOptions, signInVerify, userWithPasskey } from '../passkey-fixture.js';
import { codeAt, enrol, confirm, verify } from '../mfa-fixture.js';

/** `n` sign-in attempts whose answers are signed for another challenge: a refusal each, once checked. */
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

const codes = (res: { json(): { code?: string } }[]) => res.map((r) => r.json().code);

t.test('50 refused passkey sign-ins at once: the budget is checked, the rest are refused unchecked', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock, env: PASSKEY_ENV });
  const { authenticator, email } = await userWithPasskey(app);
  const wrong = await wrongAnswers([app], authenticator, 50);
  const checked = codes(wrong).filter((c) => c === 'passkey_sign_in_failed').length;
  t.equal(checked, PER_ACCOUNT, `exactly ${PER_ACCOUNT} of 50 refused answers were checked`);
  t.equal(codes(wrong).filter((c) => c === 'mfa_locked').length, 50 - PER_ACCOUNT, 'the others met the lock');
  t.ok(
    wrong.filter((r) => r.json().code === 'mfa_locked').every((r) => Number(r.headers['retry-after']) > 0),
    'each locked answer says when to come back (Retry-After)',
  );

  const locked = await genuine(app, authenticator);
  expectError(t, locked, 'mfa_locked', 'the genuine passkey is refused while the account is locked');
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  t.equal(first.json().mfa_required, true, 'the password still opens only a second step');
  const opts = await app.inject({
    method: 'POST',
    url: '/auth/mfa/passkey/options',
    payload: { mfa_token: first.json().mfa_token },
  });
  const second = await verify(app, {
    mfa_token: first.json().mfa_token,
    challenge_id: opts.json().challenge_id,
    response: authenticator.assert(opts.json().options),
  });
  expectError(t, second, 'mfa_locked', 'and that second step meets the same lock: one budget per account');

  clock.advance(LOCK_SECONDS + 1);
  const after = await genuine(app, authenticator);
  t.equal(after.statusCode, 200, 'once the lock has run out, the genuine passkey signs in');
});

t.test('two instances on one database share the budget: 50 refused sign-ins split between them', async (t) => {
  const clock = new ManualClock(new Date());
  const first = await buildTestApp(t, { clock, env: PASSKEY_ENV });
  const second = await buildTestApp(t, { clock, env: PASSKEY_ENV, db: first.db, keysDir: first.keysDir });
  const { authenticator } = await userWithPasskey(first.app);
  const wrong = await wrongAnswers([first.app, second.app], authenticator, 50);
  const checked = codes(wrong).filter((c) => c === 'passkey_sign_in_failed').length;
  t.equal(checked, PER_ACCOUNT, `the two instances checked exactly ${PER_ACCOUNT} together`);
  t.equal(wrong.filter((r) => r.statusCode === 200).length, 0, 'none signed in');
  for (const [name, app] of [
    ['first', first.app],
    ['second', second.app],
  ] as const)
    expectError(t, await genuine(app, authenticator), 'mfa_locked', `the lock holds on the ${name} instance`);
});

t.test('wrong second-factor codes and refused passkeys draw on one count; a success gives it back', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock, env: PASSKEY_ENV });
  const { authenticator, email } = await userWithPasskey(app);
  const password = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  t.equal(password.json().mfa_required, true, 'with a passkey that verified the user, the password asks for more');

  const some = await wrongAnswers([app], authenticator, PER_ACCOUNT - 1);
  t.ok(
    codes(some).every((c) => c === 'passkey_sign_in_failed'),
    'fewer refusals than the budget: each is checked',
  );
  const ok = await genuine(app, authenticator);
  t.equal(ok.statusCode, 200, 'the genuine passkey still signs in');
  const token = ok.json().access_token as string;
  const more = await wrongAnswers([app], authenticator, PER_ACCOUNT - 1);
  t.ok(
    codes(more).every((c) => c === 'passkey_sign_in_failed'),
    'the success gave the count back: as many refusals again are checked, no lock',
  );

  const { factor_id, secret } = await enrol(app, token);
  t.equal(
    (await confirm(app, token, factor_id, codeAt(secret, clock.now()))).statusCode,
    200,
    'an app is added in the passkey’s session',
  );
  clock.advance(31);
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  const wrongCode = await verify(app, { mfa_token: first.json().mfa_token, factor_id, code: '000000' });
  expectError(t, wrongCode, 'mfa_code_invalid', 'a wrong app code is the last of the budget');
  expectError(t, await genuine(app, authenticator), 'mfa_locked', 'so the passkey sign-in meets the lock');
});
