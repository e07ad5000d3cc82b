// Step-up (RFC 9470) and a passkey as the second factor, through HTTP on a real database: sensitive acts ask an
// account with a factor for a recent second factor (401 step_up_required with acr_values and max_age, and the
// WWW-Authenticate challenge); POST /auth/step-up answers a token with a fresh auth_time and acr "2" for the same
// session, whose refreshes keep it for STEP_UP_MAX_AGE_SECONDS and then drop back; one code steps up once even
// under 50 requests at once; a passkey answers the sign-in's second step, with a challenge bound to its mfa_token.
import t from 'tap';
import { expectError, login, ManualClock, PASSWORD, refresh, refreshCookieOf, register } from '../helper.js';
import { bearer, claimsOf, codeAt, firstStep, verify, withTotp } from '../mfa-fixture.js';
import { addPasskey, passkeyApp, signInOptions, signInVerify, SPA_ORIGIN } from '../passkey-fixture.js';
import { SoftAuthenticator } from '../passkey-authenticator.js';

const stepUp = (app: Parameters<typeof verify>[0], token: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/auth/step-up', headers: bearer(token), payload });

t.test(
  'a sensitive act asks a factor account for a step-up; the step-up token is fresh, acr 2, same session',
  async (t) => {
    const clock = new ManualClock(new Date());
    const { app } = await passkeyApp(t, { clock });
    const { email } = await register(app);
    const f = await withTotp(app, clock, email);
    const keyRequest = (token: string) =>
      app.inject({
        method: 'POST',
        url: '/auth/api-keys',
        headers: bearer(token),
        payload: { name: 'ci', scopes: [] },
      });
    const refused = await keyRequest(f.accessToken);
    expectError(t, refused, 'step_up_required', 'creating an API key with a password-only token');
    t.match(
      refused.headers['www-authenticate'],
      /^Bearer error="insufficient_user_authentication", .*acr_values="2", max_age=300$/,
      'the refusal carries the RFC 9470 challenge a client follows',
    );
    t.match(refused.json(), { acr_values: '2', max_age: 300 }, 'and the same facts in the body, for an SPA');

    const before = claimsOf(f.accessToken);
    clock.advance(60);
    const up = await stepUp(app, f.accessToken, { factor_id: f.factorId, code: codeAt(f.secret, clock.now()) });
    t.equal(up.statusCode, 200, 'a valid code steps up');
    const after = claimsOf(up.json().access_token);
    t.equal(after.sid, before.sid, 'the step-up token is for the same session');
    t.equal(after.acr, '2', 'at level 2');
    t.same(after.amr, ['pwd', 'otp', 'mfa'], 'naming the password and the code');
    t.equal(after.auth_time, Math.floor(clock.now().getTime() / 1000), 'with a fresh auth_time');
    t.equal(up.cookies.length, 0, 'the refresh cookie stays as it was');
    t.equal((await keyRequest(up.json().access_token)).statusCode, 201, 'the stepped-up token creates the API key');
  },
);

t.test('the raised level survives a refresh within its max age and drops back after it', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await passkeyApp(t, { clock, env: { STEP_UP_MAX_AGE_SECONDS: '600' } });
  const { email } = await register(app);
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  const cookie = refreshCookieOf(login);
  const f = await withTotp(app, clock, email);
  const up = await stepUp(app, login.json().access_token, {
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  t.equal(up.statusCode, 200, 'stepped up');
  clock.advance(300);
  const soon = await refresh(app, cookie);
  t.equal(soon.statusCode, 200, 'refreshed within the window');
  t.equal(claimsOf(soon.json().access_token).acr, '2', 'a refresh within STEP_UP_MAX_AGE_SECONDS keeps acr 2');
  t.equal(
    claimsOf(soon.json().access_token).auth_time,
    claimsOf(up.json().access_token).auth_time,
    'and the step-up’s auth_time',
  );
  clock.advance(301);
  const late = await refresh(app, refreshCookieOf(soon));
  t.equal(late.statusCode, 200, 'refreshed after the window');
  const dropped = claimsOf(late.json().access_token);
  t.equal(dropped.acr, '1', 'after STEP_UP_MAX_AGE_SECONDS the level drops back to the sign-in’s');
  t.same(dropped.amr, ['pwd'], 'and so do the methods');
});

t.test('50 step-ups at once with one code: exactly one succeeds', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await passkeyApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const code = codeAt(f.secret, clock.now());
  const all = await Promise.all(
    Array.from({ length: 50 }, () => stepUp(app, f.accessToken, { factor_id: f.factorId, code })),
  );
  const ok = all.filter((r) => r.statusCode === 200);
  t.equal(ok.length, 1, 'a code steps up once (RFC 6238 §5.2), however many requests carry it');
  for (const r of all.filter((r) => r.statusCode !== 200))
    t.ok(['mfa_code_invalid', 'mfa_locked'].includes(r.json().code), `the others are refused (${r.json().code})`);
});

t.test('a wrong step-up code counts in the account’s one failure budget', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await passkeyApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  for (let i = 0; i < 10; i++) await stepUp(app, f.accessToken, { factor_id: f.factorId, code: '000000' });
  const locked = await stepUp(app, f.accessToken, { factor_id: f.factorId, code: codeAt(f.secret, clock.now()) });
  expectError(t, locked, 'mfa_locked', 'after 10 wrong step-up codes even a right one');
  t.ok(Number(locked.headers['retry-after']) > 0, 'with Retry-After');
  expectError(
    t,
    await verify(app, { mfa_token: await firstStep(app, email, PASSWORD), factor_id: f.factorId, code: '123456' }),
    'mfa_locked',
    'the sign-in’s second step shares the lock',
  );
});

t.test('a passkey completes the second step of a password sign-in, and steps up a session', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await passkeyApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const verified = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  const authenticator = new SoftAuthenticator({ origin: SPA_ORIGIN });
  await addPasskey(app, verified.json().access_token, authenticator);

  const mfaToken = await firstStep(app, email, PASSWORD);
  const opts = await app.inject({ method: 'POST', url: '/auth/mfa/passkey/options', payload: { mfa_token: mfaToken } });
  t.equal(opts.statusCode, 200, 'passkey options for the pending sign-in');
  t.same(
    opts.json().options.allowCredentials.map((c: { id: string }) => c.id),
    [authenticator.id],
    'offering only the user’s passkey',
  );
  const answer = authenticator.assert(opts.json().options);
  const done = await verify(app, {
    mfa_token: mfaToken,
    challenge_id: opts.json().challenge_id,
    response: answer,
  } as never);
  t.equal(done.statusCode, 200, 'the passkey completes the sign-in');
  const claims = claimsOf(done.json().access_token);
  t.same(claims.amr, ['pwd', 'hwk', 'user', 'mfa'], 'amr names the password, the key, the verified user, mfa');
  t.equal(claims.acr, '2', 'level 2');
  const again = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    challenge_id: opts.json().challenge_id,
    response: answer,
  } as never);
  expectError(t, again, 'passkey_challenge_invalid', 'the challenge is spent once, and bound to its own mfa_token');

  clock.advance(400);
  const token = done.json().access_token;
  const upOpts = await app.inject({ method: 'POST', url: '/auth/step-up/passkey/options', headers: bearer(token) });
  t.equal(upOpts.statusCode, 200, 'passkey options for a step-up');
  const up = await stepUp(app, token, {
    challenge_id: upOpts.json().challenge_id,
    response: authenticator.assert(upOpts.json().options),
  });
  t.equal(up.statusCode, 200, 'a passkey steps up the session');
  t.equal(claimsOf(up.json().access_token).auth_time, Math.floor(clock.now().getTime() / 1000), 'auth_time is now');
});

t.test('a session signed in with a passkey steps up with a passkey only if it verifies the user', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await passkeyApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const verified = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  // A security key without a PIN: it proves possession only.
  const key = new SoftAuthenticator({ origin: SPA_ORIGIN, userVerified: false });
  await addPasskey(app, verified.json().access_token, key);

  const signIn = await signInOptions(app);
  const signedIn = await signInVerify(app, signIn.challenge_id, key.assert(signIn.options));
  t.equal(signedIn.statusCode, 200, 'the key alone signs in usernameless');
  const token = signedIn.json().access_token;
  t.equal(claimsOf(token).acr, '1', 'as one factor');

  const upOpts = await app.inject({ method: 'POST', url: '/auth/step-up/passkey/options', headers: bearer(token) });
  t.equal(upOpts.statusCode, 200, 'passkey options for the step-up');
  t.equal(upOpts.json().options.userVerification, 'required', 'they ask the browser to verify the user');
  const same = await stepUp(app, token, {
    challenge_id: upOpts.json().challenge_id,
    response: key.assert(upOpts.json().options),
  });
  expectError(t, same, 'passkey_user_verification_required', 'the same key without its PIN is not a second factor');

  key.userVerified = true;
  const again = await app.inject({ method: 'POST', url: '/auth/step-up/passkey/options', headers: bearer(token) });
  const up = await stepUp(app, token, {
    challenge_id: again.json().challenge_id,
    response: key.assert(again.json().options),
  });
  t.equal(up.statusCode, 200, 'a key that verifies the user steps the session up');
  t.equal(claimsOf(up.json().access_token).acr, '2', 'to level 2');
});

t.test('rolling an API key asks a factor account for a step-up, as creating one does', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await passkeyApp(t, { clock });
  const { email } = await register(app);
  const before = await login(app, email);
  const made = await app.inject({
    method: 'POST',
    url: '/auth/api-keys',
    headers: bearer(before.accessToken),
    payload: { name: 'ci', scopes: [] },
  });
  t.equal(made.statusCode, 201, 'an account without a factor makes a key');
  const f = await withTotp(app, clock, email);
  const roll = (token: string) =>
    app.inject({
      method: 'POST',
      url: `/auth/api-keys/${made.json().id}/roll`,
      headers: bearer(token),
      payload: {},
    });
  expectError(t, await roll(f.accessToken), 'step_up_required', 'rolling a key with a password-only token');
  const up = await stepUp(app, f.accessToken, { factor_id: f.factorId, code: codeAt(f.secret, clock.now()) });
  t.equal(up.statusCode, 200, 'the step-up succeeds');
  t.equal((await roll(up.json().access_token)).statusCode, 201, 'the stepped-up token rolls the key');
});
