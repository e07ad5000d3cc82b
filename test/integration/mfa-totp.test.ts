// TOTP as a second factor, through HTTP on a real database: enrolment, confirmation within 10 minutes, the
// sign-in's second step, and the rule that a code works once (RFC 6238 §5.2), held by one UPDATE on the
// factor's last time step even under 20 requests at once. (test/system/mfa-totp-python.test.ts signs in with a
// code computed by Python's standard library.)
import t from 'tap';
import {
  buildTestApp,
  databaseKind,
  expectError,
  login,
  ManualClock,
  PASSWORD,
  refresh,
  refreshCookieOf,
  register,
} from '../helper.js';
import { bearer, claimsOf, codeAt, confirm, enrol, firstStep, verify, withTotp } from '../mfa-fixture.js';

t.test('enrolling an app returns a secret, its otpauth URI and an SVG QR code; a code activates it', async (t) => {
  const clock = new ManualClock(new Date());
  const { app, db } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const { accessToken } = await login(app, email);
  const e = await enrol(app, accessToken);
  t.match(e.secret, /^[A-Z2-7]{32}$/, 'the secret is 160 bits of base32');
  t.match(e.otpauth_uri, /^otpauth:\/\/totp\/Tessera:.*secret=[A-Z2-7]{32}/, 'the URI is an otpauth:// TOTP URI');
  t.match(e.qr_svg, /^<svg[\s\S]*<\/svg>\s*$/, 'the QR code is an SVG document');
  const row = await db.database.prisma.mfaFactor.findUnique({ where: { id: e.factor_id } });
  t.notOk(row?.secret?.includes(e.secret), 'the database holds the secret sealed, never in clear');
  let list = await app.inject({ method: 'GET', url: '/auth/mfa/factors', headers: bearer(accessToken) });
  t.same(list.json().factors, [], 'a pending factor is not listed as active');
  expectError(t, await confirm(app, accessToken, e.factor_id, '000000'), 'mfa_code_invalid', 'a wrong code');
  const ok = await confirm(app, accessToken, e.factor_id, codeAt(e.secret, clock.now()));
  t.equal(ok.statusCode, 200, 'a code from the app activates the factor');
  t.equal(ok.json().recovery_codes.length, 10, 'the first set of recovery codes comes with the first factor');
  list = await app.inject({ method: 'GET', url: '/auth/mfa/factors', headers: bearer(accessToken) });
  t.same(
    list.json().factors.map((f: { factor_id: string; type: string }) => [f.factor_id, f.type]),
    [[e.factor_id, 'totp']],
    'the factor is listed as an active totp factor',
  );
});

t.test('an enrolment not confirmed within 10 minutes is dropped', async (t) => {
  const clock = new ManualClock(new Date());
  const { app, db } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const { accessToken } = await login(app, email);
  const e = await enrol(app, accessToken);
  clock.advance(10 * 60 + 1);
  expectError(t, await confirm(app, accessToken, e.factor_id, codeAt(e.secret, clock.now())), 'not_found', 'late');
  t.equal(await db.database.prisma.mfaFactor.count({ where: { id: e.factor_id } }), 0, 'the pending factor is gone');
});

t.test('with a factor, login answers mfa_required and no cookie; a code completes it with amr and acr 2', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  t.equal(first.statusCode, 200, 'the password step succeeds');
  t.equal(first.json().mfa_required, true, 'and says a second factor is required');
  t.same(first.json().factors, [{ factor_id: f.factorId, type: 'totp' }], 'and names the factors to use');
  t.notOk(first.json().access_token, 'no access token before the second step');
  t.equal(refreshCookieOf(first), undefined, 'no refresh cookie before the second step');
  const done = await verify(app, {
    mfa_token: first.json().mfa_token,
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  t.equal(done.statusCode, 200, 'the code completes the sign-in');
  const claims = claimsOf(done.json().access_token);
  t.same(claims.amr, ['pwd', 'otp', 'mfa'], 'amr says password, one-time code, multi-factor (RFC 8176)');
  t.equal(claims.acr, '2', 'acr is the two-factor level');
  const cookie = refreshCookieOf(done);
  t.ok(cookie, 'the refresh cookie is set by the second step');
  clock.advance(60);
  const refreshed = await refresh(app, cookie);
  t.equal(refreshed.statusCode, 200, 'the session refreshes');
  const after = claimsOf(refreshed.json().access_token);
  t.same(after.amr, ['pwd', 'otp', 'mfa'], 'a refresh keeps amr');
  t.equal(after.acr, '2', 'a refresh keeps acr');
  t.equal(after.auth_time, claims.auth_time, 'a refresh keeps auth_time');
  const again = await verify(app, {
    mfa_token: first.json().mfa_token,
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  expectError(t, again, 'mfa_token_invalid', 'an mfa_token works once');
});

t.test('the code that confirmed the enrolment cannot be used to sign in', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const { accessToken } = await login(app, email);
  const e = await enrol(app, accessToken);
  const code = codeAt(e.secret, clock.now());
  t.equal((await confirm(app, accessToken, e.factor_id, code)).statusCode, 200, 'the code confirms the factor');
  const mfaToken = await firstStep(app, email, PASSWORD);
  expectError(t, await verify(app, { mfa_token: mfaToken, factor_id: e.factor_id, code }), 'mfa_code_invalid', 'reuse');
});

t.test('20 sign-ins at once with the same valid code: exactly one succeeds', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const tokens: string[] = [];
  for (let i = 0; i < 20; i++) tokens.push(await firstStep(app, email, PASSWORD));
  const code = codeAt(f.secret, clock.now());
  const answers = await Promise.all(tokens.map((mfa_token) => verify(app, { mfa_token, factor_id: f.factorId, code })));
  t.equal(answers.filter((r) => r.statusCode === 200).length, 1, 'one request takes the code');
  const refused = answers.filter((r) => r.statusCode !== 200).map((r) => r.json().code);
  t.equal(refused.length, 19, 'the other 19 are refused');
  t.ok(
    refused.every((code) => code === 'mfa_code_invalid' || code === 'mfa_locked'),
    'as a used code, or by the account’s failure budget once they are counted against it',
  );
  t.ok(refused.includes('mfa_code_invalid'), 'those evaluated are refused as a used code');
});

t.test(
  'a code of an older step is refused after a newer one was used; the step window is one either side',
  async (t) => {
    const clock = new ManualClock(new Date());
    const { app } = await buildTestApp(t, { clock });
    const { email } = await register(app);
    const f = await withTotp(app, clock, email);
    const older = codeAt(f.secret, clock.now());
    const newer = codeAt(f.secret, new Date(clock.now().getTime() + 30_000));
    const ok = await verify(app, {
      mfa_token: await firstStep(app, email, PASSWORD),
      factor_id: f.factorId,
      code: newer,
    });
    t.equal(ok.statusCode, 200, 'the next step’s code is accepted (a fast clock, one step ahead)');
    const late = await verify(app, {
      mfa_token: await firstStep(app, email, PASSWORD),
      factor_id: f.factorId,
      code: older,
    });
    expectError(t, late, 'mfa_code_invalid', 'the older step after the newer');
    clock.advance(5 * 30);
    const stale = codeAt(f.secret, new Date(clock.now().getTime() - 2 * 30_000));
    const res = await verify(app, {
      mfa_token: await firstStep(app, email, PASSWORD),
      factor_id: f.factorId,
      code: stale,
    });
    expectError(t, res, 'mfa_code_invalid', 'a code two steps old');
  },
);

t.test('an unknown factor id and a wrong code get the same answer', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const unknown = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    factor_id: '00000000-0000-4000-8000-000000000000',
    code: codeAt(f.secret, clock.now()),
  });
  const wrong = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    factor_id: f.factorId,
    code: '123456',
  });
  const shape = (r: typeof wrong) => ({ status: r.statusCode, code: r.json().code, message: r.json().message });
  t.same(shape(unknown), shape(wrong), 'the status, code and message are the same');
  expectError(t, unknown, 'mfa_code_invalid', 'an unknown factor');
});

t.test('removing a factor needs a sign-in with a second factor; afterwards login needs none', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const del = (token: string) =>
    app.inject({ method: 'DELETE', url: `/auth/mfa/factors/${f.factorId}`, headers: bearer(token) });
  expectError(t, await del(f.accessToken), 'step_up_required', 'a password-only session');
  const done = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  t.equal((await del(done.json().access_token)).statusCode, 204, 'a session with the second factor removes it');
  const plain = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  t.ok(plain.json().access_token, 'without a factor, login answers tokens at once');
});

t.test('the last two factors removed at the same instant take the recovery codes with them, every time', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email, user } = await register(app);
  const codes = () => app.services.database.prisma.mfaRecoveryCode.count({ where: { userId: user.id } });
  // The race needs two connections: on PGlite (one connection) each round is a plain check; on PostgreSQL one
  // round in two or three interleaved before the fix, so ten rounds.
  for (let round = 0; round < (databaseKind === 'postgres' ? 10 : 2); round++) {
    const first = await withTotp(app, clock, email);
    const stepped = await verify(app, {
      mfa_token: await firstStep(app, email, PASSWORD),
      factor_id: first.factorId,
      code: codeAt(first.secret, clock.now()),
    });
    const token = stepped.json().access_token as string;
    const second = await enrol(app, token);
    clock.advance(30);
    t.equal(
      (await confirm(app, token, second.factor_id, codeAt(second.secret, clock.now()))).statusCode,
      200,
      `round ${round}: a second factor`,
    );
    t.ok((await codes()) > 0, `round ${round}: the user has recovery codes`);
    const removed = await Promise.all(
      [first.factorId, second.factor_id].map((id) =>
        app.inject({ method: 'DELETE', url: `/auth/mfa/factors/${id}`, headers: bearer(token) }),
      ),
    );
    t.same(
      removed.map((r) => r.statusCode),
      [204, 204],
      `round ${round}: both removals at once succeed`,
    );
    t.equal(await codes(), 0, `round ${round}: no factor left, no recovery code left`);
    clock.advance(30);
  }
});

t.test('new recovery codes and the removal of the last factor at the same instant: no 5xx', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  // Both change the user's factors: each takes the user's row first, or PostgreSQL ends one as a deadlock.
  for (let round = 0; round < (databaseKind === 'postgres' ? 10 : 1); round++) {
    const f = await withTotp(app, clock, email);
    const stepped = await verify(app, {
      mfa_token: await firstStep(app, email, PASSWORD),
      factor_id: f.factorId,
      code: codeAt(f.secret, clock.now()),
    });
    const token = stepped.json().access_token as string;
    const [codes, removed] = await Promise.all([
      app.inject({ method: 'POST', url: '/auth/mfa/recovery-codes', headers: bearer(token) }),
      app.inject({ method: 'DELETE', url: `/auth/mfa/factors/${f.factorId}`, headers: bearer(token) }),
    ]);
    t.ok(
      codes.statusCode < 500 && removed.statusCode === 204,
      `round ${round}: new codes ${codes.statusCode}, removal ${removed.statusCode}`,
    );
    clock.advance(30);
  }
});

t.test('a second step after the password changed is refused before it spends the recovery code', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  // On the phone: the first step. On the laptop, meanwhile: the password changes (with the second factor).
  const phone = await firstStep(app, email, PASSWORD);
  const laptop = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  const changed = await app.inject({
    method: 'POST',
    url: '/auth/password',
    headers: bearer(laptop.json().access_token),
    payload: { current_password: PASSWORD, new_password: 'the password of the laptop' },
  });
  t.equal(changed.statusCode, 204, 'the password changes on the laptop');
  const codesBefore = await app.services.database.prisma.mfaRecoveryCode.count({ where: { usedAt: null } });
  expectError(
    t,
    await verify(app, { mfa_token: phone, recovery_code: f.recoveryCodes[0]! }),
    'mfa_token_invalid',
    "the phone's second step is refused: its first step's password is gone",
  );
  t.equal(
    await app.services.database.prisma.mfaRecoveryCode.count({ where: { usedAt: null } }),
    codesBefore,
    'and the recovery code it sent is not spent',
  );
});
