// Second factors and administrators: MFA_REQUIRED_ROLES keeps /admin closed to an admin without a factor (while
// enrolment stays open), and to a token from a sign-in without it; an admin's reset of a user's factors is
// audited once, emailed, removes passkeys too, ends the user's sessions, and leaves the password sign-in working.
import t from 'tap';
import {
  buildTestApp,
  expectError,
  login,
  ManualClock,
  PASSWORD,
  refresh,
  refreshCookieOf,
  register,
} from '../helper.js';
import { loadConfig, ConfigError } from '../../src/config.js';
import { adminSession } from '../authz-fixtures.js';
import { mailEnv, startSmtp } from '../mail-smtp.js';
import { bearer, claimsOf, codeAt, firstStep, verify, withTotp } from '../mfa-fixture.js';
import { addPasskey, PASSKEY_ENV, signInOptions, signInVerify, SPA_ORIGIN } from '../passkey-fixture.js';
import { SoftAuthenticator } from '../passkey-authenticator.js';

t.test('MFA_REQUIRED_ROLES is checked at boot: a malformed role list stops the service', async (t) => {
  t.throws(() => loadConfig({ MFA_REQUIRED_ROLES: 'admin,,Bad Role' }), ConfigError, 'a bad role list is refused');
  t.same(loadConfig({ MFA_REQUIRED_ROLES: 'admin,support' }).mfaRequiredRoles, ['admin', 'support'], 'a list is read');
  t.same(loadConfig({}).mfaRequiredRoles, [], 'unset: no role requires a factor');
});

t.test('an admin without a factor is told to enrol, can enrol, and then needs a sign-in with it', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock, env: { MFA_REQUIRED_ROLES: 'admin' } });
  const admin = await adminSession(app);
  const before = await app.inject({ method: 'GET', url: '/admin/users', headers: bearer(admin.accessToken) });
  expectError(t, before, 'mfa_enrolment_required', 'an admin without a second factor gets nothing from /admin');
  const enrolled = await withTotp(app, clock, admin.email);
  const stale = await app.inject({ method: 'GET', url: '/admin/users', headers: bearer(enrolled.accessToken) });
  expectError(t, stale, 'step_up_required', 'a token from a password-only sign-in is not enough');
  const done = await verify(app, {
    mfa_token: await firstStep(app, admin.email, PASSWORD),
    factor_id: enrolled.factorId,
    code: codeAt(enrolled.secret, clock.now()),
  });
  const ok = await app.inject({ method: 'GET', url: '/admin/users', headers: bearer(done.json().access_token) });
  t.equal(ok.statusCode, 200, 'after a sign-in with the factor, /admin answers');
});

t.test('without MFA_REQUIRED_ROLES an admin with one factor uses /admin as before', async (t) => {
  const { app } = await buildTestApp(t);
  const admin = await adminSession(app);
  const res = await app.inject({ method: 'GET', url: '/admin/users', headers: bearer(admin.accessToken) });
  t.equal(res.statusCode, 200, 'no role listed: nothing changes for admins');
});

t.test('an admin resets a user’s factors: apps and passkeys go, sessions end, audited once, emailed', async (t) => {
  const smtp = await startSmtp(t);
  const clock = new ManualClock(new Date());
  const { app, db } = await buildTestApp(t, { clock, env: { ...mailEnv(smtp), ...PASSKEY_ENV } });
  const admin = await adminSession(app);
  const { email, user } = await register(app);
  const f = await withTotp(app, clock, email);
  const signedIn = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  t.equal(claimsOf(signedIn.json().access_token).acr, '2', 'the user signed in with two factors');
  const authenticator = new SoftAuthenticator({ origin: SPA_ORIGIN });
  await addPasskey(app, signedIn.json().access_token, authenticator);
  const opts = await signInOptions(app);
  const byPasskey = await signInVerify(app, opts.challenge_id, authenticator.assert(opts.options));
  t.equal(byPasskey.statusCode, 200, 'the passkey signs in on its own');
  const cookies = [refreshCookieOf(signedIn), refreshCookieOf(byPasskey)];

  const notAdmin = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${user.id}/mfa`,
    headers: bearer(signedIn.json().access_token),
  });
  expectError(t, notAdmin, 'insufficient_scope', 'only an admin resets factors');
  const reset = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${user.id}/mfa`,
    headers: bearer(admin.accessToken),
  });
  t.equal(reset.statusCode, 200, 'the admin resets the factors');
  t.same(
    reset.json(),
    { factors_removed: 1, passkeys_removed: 1, sessions_ended: 3 },
    'the app and the passkey are removed; the three sessions (enrolment, two-factor, passkey) end',
  );

  for (const cookie of cookies) expectError(t, await refresh(app, cookie), 'session_revoked', 'a session ended');
  const again = await signInOptions(app);
  expectError(
    t,
    await signInVerify(app, again.challenge_id, authenticator.assert(again.options)),
    'passkey_sign_in_failed',
    'the removed passkey no longer signs in',
  );
  const plain = await login(app, email);
  t.ok(plain.accessToken, 'the password alone signs in again, so the user can enrol a new authenticator');
  const factors = await app.inject({ method: 'GET', url: '/auth/mfa/factors', headers: bearer(plain.accessToken) });
  t.same(factors.json(), { factors: [], recovery_codes_remaining: 0 }, 'no factor and no recovery code is left');
  const passkeys = await app.inject({ method: 'GET', url: '/auth/passkeys', headers: bearer(plain.accessToken) });
  t.same(passkeys.json().passkeys, [], 'no passkey is left');

  const rows = await db.database.prisma.auditEvent.findMany({ where: { type: 'mfa_factors_reset', userId: user.id } });
  t.equal(rows.length, 1, 'the reset is audited once');
  t.match(rows[0]!.reason, `factors=1 passkeys=1 by user:${admin.user.id}; 3 sessions ended`, 'it names the admin');
  const ended = await db.database.prisma.session.findMany({
    where: { userId: user.id, revokedReason: 'factors_reset' },
  });
  t.equal(ended.length, 3, 'the sessions say why they ended');
  t.equal(
    await db.database.prisma.mailMessage.count({ where: { kind: 'mfa_factor_removed', recipient: email } }),
    1,
    'the user is emailed',
  );
  const unknown = await app.inject({
    method: 'DELETE',
    url: '/admin/users/00000000-0000-4000-8000-000000000000/mfa',
    headers: bearer(admin.accessToken),
  });
  expectError(t, unknown, 'not_found', 'an unknown user');
});

t.test('20 resets at once, racing second steps, remove the factor once and never answer 500', async (t) => {
  const clock = new ManualClock(new Date());
  const { app, db } = await buildTestApp(t, { clock });
  const admin = await adminSession(app);
  const { email, user } = await register(app);
  const f = await withTotp(app, clock, email);
  const tokens: string[] = [];
  for (let i = 0; i < 5; i++) tokens.push(await firstStep(app, email, PASSWORD));
  const code = codeAt(f.secret, clock.now());
  const results = await Promise.all([
    ...Array.from({ length: 20 }, () =>
      app.inject({ method: 'DELETE', url: `/admin/users/${user.id}/mfa`, headers: bearer(admin.accessToken) }),
    ),
    ...tokens.map((mfa_token) => verify(app, { mfa_token, factor_id: f.factorId, code })),
  ]);
  t.ok(
    results.every((r) => r.statusCode < 500),
    'no request failed on our side',
  );
  const resets = results.slice(0, 20).filter((r) => r.statusCode === 200);
  t.equal(resets.length, 20, 'every reset answered');
  t.equal(
    resets.reduce((n, r) => n + r.json().factors_removed, 0),
    1,
    'exactly one reset removed the factor: the others found none',
  );
  t.equal(await db.database.prisma.mfaFactor.count({ where: { userId: user.id } }), 0, 'no factor is left');
  t.ok(
    results.slice(20).filter((r) => r.statusCode === 200).length <= 1,
    'the one code signed in at most once, racing the reset',
  );
});

t.test('an admin’s reset also ends a session that stepped up to two factors', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const admin = await adminSession(app);
  const { email, user } = await register(app);
  const signedIn = await login(app, email);
  const f = await withTotp(app, clock, email);
  const up = await app.inject({
    method: 'POST',
    url: '/auth/step-up',
    headers: bearer(signedIn.accessToken),
    payload: { factor_id: f.factorId, code: codeAt(f.secret, clock.now()) },
  });
  t.equal(claimsOf(up.json().access_token).acr, '2', 'the password session stepped up to two factors');
  const raised = await refresh(app, signedIn.refresh);
  t.equal(claimsOf(raised.json().access_token).acr, '2', 'and its refresh says so');

  const reset = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${user.id}/mfa`,
    headers: bearer(admin.accessToken),
  });
  t.equal(reset.statusCode, 200, 'the admin resets the factors');
  t.equal(reset.json().sessions_ended, 2, 'the stepped-up session and the enrolment’s are ended');
  const after = await refresh(app, refreshCookieOf(raised));
  expectError(t, after, 'session_revoked', 'the stepped-up session keeps no acr "2" token alive');
});

t.test('an admin cannot reset their own second factors through the admin route', async (t) => {
  const clock = new ManualClock(new Date());
  const { app, db } = await buildTestApp(t, { clock });
  const admin = await adminSession(app);
  const f = await withTotp(app, clock, admin.email);
  // Signed in with the factor, so the admin change passes its recent-second-factor check and meets this rule.
  clock.advance(31);
  const signedIn = await verify(app, {
    mfa_token: await firstStep(app, admin.email, PASSWORD),
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  const own = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${admin.user.id}/mfa`,
    headers: bearer(signedIn.json().access_token),
  });
  expectError(t, own, 'mfa_reset_own_account', 'an admin resetting their own factors');
  t.equal(
    await db.database.prisma.mfaFactor.count({ where: { userId: admin.user.id } }),
    1,
    'the admin’s authenticator app stays',
  );
});
