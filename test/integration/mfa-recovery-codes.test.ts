// Recovery codes through HTTP: ten shown once, stored hashed, each opening one sign-in in any order (20 requests
// with one code at once: exactly one succeeds), the answer saying how many remain and the owner emailed; a new
// set needs a recent sign-in with a second factor and voids the old one.
import { createHash } from 'node:crypto';
import t from 'tap';
import { buildTestApp, expectError, ManualClock, PASSWORD, register } from '../helper.js';
import { mailEnv, startSmtp } from '../mail-smtp.js';
import { LOCK_SECONDS } from '../../src/domain/mfa/failure-budget.js';
import { bearer, claimsOf, codeAt, firstStep, verify, withTotp } from '../mfa-fixture.js';

t.test('ten codes of 80 bits in an unambiguous alphabet, stored only as hashes', async (t) => {
  const clock = new ManualClock(new Date());
  const { app, db } = await buildTestApp(t, { clock });
  const { email, user } = await register(app);
  const f = await withTotp(app, clock, email);
  t.equal(f.recoveryCodes.length, 10, 'ten codes');
  t.equal(new Set(f.recoveryCodes).size, 10, 'all different');
  for (const c of f.recoveryCodes)
    t.match(c, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/, 'sixteen base32 characters, no I, L, O, U');
  const rows = await db.database.prisma.mfaRecoveryCode.findMany({ where: { userId: user.id } });
  const stored = rows.map((r) => r.codeHash).join(' ');
  for (const c of f.recoveryCodes) t.notOk(stored.includes(c.replace(/-/g, '')), 'no code is stored in clear');
  t.ok(
    rows.some(
      (r) => r.codeHash === createHash('sha256').update(f.recoveryCodes[0]!.replace(/-/g, '')).digest('base64url'),
    ),
    'a code is stored as its SHA-256',
  );
});

t.test('20 sign-ins at once with one recovery code: exactly one succeeds, and it says how many remain', async (t) => {
  const smtp = await startSmtp(t);
  const clock = new ManualClock(new Date());
  const { app, db } = await buildTestApp(t, { clock, env: mailEnv(smtp) });
  const { email, user } = await register(app);
  const f = await withTotp(app, clock, email);
  const tokens: string[] = [];
  for (let i = 0; i < 20; i++) tokens.push(await firstStep(app, email, PASSWORD));
  const code = f.recoveryCodes[3]!.toLowerCase();
  const answers = await Promise.all(tokens.map((mfa_token) => verify(app, { mfa_token, recovery_code: code })));
  const ok = answers.filter((r) => r.statusCode === 200);
  t.equal(ok.length, 1, 'one request spends the code');
  t.equal(ok[0]!.json().recovery_codes_remaining, 9, 'and is told nine codes remain');
  t.same(claimsOf(ok[0]!.json().access_token).amr, ['pwd', 'mfa'], 'the session is multi-factor');
  t.ok(
    answers
      .filter((r) => r.statusCode !== 200)
      .every((r) => ['mfa_code_invalid', 'mfa_locked'].includes(r.json().code)),
    'the others are refused',
  );
  // The refused 19 counted against the account's budget and locked it; once the lock is over, sign in again.
  clock.advance(LOCK_SECONDS + 1);
  const other = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    recovery_code: f.recoveryCodes[9]!,
  });
  t.equal(other.json().recovery_codes_remaining, 8, 'codes work in any order');
  t.equal(
    await db.database.prisma.mailMessage.count({ where: { kind: 'mfa_recovery_code_used', recipient: email } }),
    2,
    'the owner is emailed for each code used',
  );
  t.equal(
    await db.database.prisma.auditEvent.count({ where: { type: 'mfa_recovery_code_used', userId: user.id } }),
    2,
    'and each use is audited',
  );
});

t.test('a new set needs a second-factor sign-in and voids the old one', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock, env: { RECENT_LOGIN_SECONDS: '60' } });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const regenerate = (token: string) =>
    app.inject({ method: 'POST', url: '/auth/mfa/recovery-codes', headers: bearer(token) });
  expectError(t, await regenerate(f.accessToken), 'step_up_required', 'a password-only session');
  const done = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  const fresh = await regenerate(done.json().access_token);
  t.equal(fresh.statusCode, 200, 'a session with a second factor gets a new set');
  t.equal(fresh.json().codes.length, 10, 'of ten codes');
  const old = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    recovery_code: f.recoveryCodes[0]!,
  });
  expectError(t, old, 'mfa_code_invalid', 'a code of the old set');
  const ok = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    recovery_code: fresh.json().codes[0],
  });
  t.equal(ok.statusCode, 200, 'a code of the new set signs in');
  clock.advance(61); // past RECENT_LOGIN_SECONDS, within the access token lifetime
  expectError(t, await regenerate(done.json().access_token), 'step_up_required', 'a second-factor sign-in too old');
});
