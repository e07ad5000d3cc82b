// An account whose only second factor is a passkey, through HTTP on a real database: a passkey registered with
// user verification makes the password sign-in ask for a second step (the passkey listed with type "webauthn"),
// which the passkey completes through POST /auth/mfa/verify; a passkey registered without user verification is
// a way to sign in, not a second factor, and asks nothing of the password.
import t from 'tap';
import { decodeJwt } from 'jose';
import { expectError, PASSWORD, refreshCookieOf } from '../helper.js';
import { passkeyApp, userWithPasskey } from '../passkey-fixture.js';
import { verify } from '../mfa-fixture.js';
import { meta } from '../authz-fixtures.js';

t.test('a passkey that verified the user is the second factor of a password sign-in', async (t) => {
  const { app } = await passkeyApp(t);
  const { authenticator, passkey, email, user } = await userWithPasskey(app);
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  t.equal(first.statusCode, 200, 'the password is right');
  t.equal(first.json().mfa_required, true, 'but the sign-in needs a second step');
  t.same(first.json().factors, [{ factor_id: passkey.id, type: 'webauthn' }], 'the passkey is the factor offered');
  t.notOk(refreshCookieOf(first), 'no session cookie before the second step');
  t.notOk(first.json().access_token, 'and no access token');

  const opts = await app.inject({
    method: 'POST',
    url: '/auth/mfa/passkey/options',
    payload: { mfa_token: first.json().mfa_token },
  });
  t.equal(opts.statusCode, 200, 'passkey options for the pending sign-in');
  t.same(
    opts.json().options.allowCredentials.map((c: { id: string }) => c.id),
    [authenticator.id],
    'offering the user’s own passkey only',
  );
  const done = await verify(app, {
    mfa_token: first.json().mfa_token,
    challenge_id: opts.json().challenge_id,
    response: authenticator.assert(opts.json().options),
  });
  t.equal(done.statusCode, 200, 'the passkey completes the sign-in');
  const claims = decodeJwt(done.json().access_token);
  t.equal(claims.sub, user.id, 'as the account that signed in');
  t.same(claims.amr, ['pwd', 'hwk', 'user', 'mfa'], 'amr: the password, the key, the verified user, and mfa');
  t.equal(claims.acr, '2', 'two factors: acr 2');
  t.ok(refreshCookieOf(done), 'the refresh cookie comes with the completed sign-in');

  const again = await verify(app, {
    mfa_token: first.json().mfa_token,
    challenge_id: opts.json().challenge_id,
    response: authenticator.assert(opts.json().options),
  });
  expectError(t, again, 'mfa_token_invalid', 'the mfa_token completes one sign-in only');
});

t.test('a passkey registered without user verification asks nothing of the password sign-in', async (t) => {
  const { app } = await passkeyApp(t);
  const { email } = await userWithPasskey(app, { userVerified: false });
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  t.equal(res.statusCode, 200, 'the password signs in');
  t.ok(res.json().access_token, 'at once, with tokens: a key without user verification is no second factor');
  t.equal(decodeJwt(res.json().access_token).acr, '1', 'one factor: acr 1');
});

t.test('a passkey that verified the user counts for a role that requires a second factor', async (t) => {
  const { app } = await passkeyApp(t, { env: { MFA_REQUIRED_ROLES: 'admin' } });
  const { authenticator, email, user } = await userWithPasskey(app);
  await app.services.roles.grant(user.id, 'admin', { kind: 'cli' }, meta);
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  const opts = await app.inject({
    method: 'POST',
    url: '/auth/mfa/passkey/options',
    payload: { mfa_token: first.json().mfa_token },
  });
  const done = await verify(app, {
    mfa_token: first.json().mfa_token,
    challenge_id: opts.json().challenge_id,
    response: authenticator.assert(opts.json().options),
  });
  const admin = await app.inject({
    method: 'GET',
    url: '/admin/users',
    headers: { authorization: `Bearer ${done.json().access_token}` },
  });
  t.equal(admin.statusCode, 200, 'an admin whose factor is a passkey reaches /admin after signing in with it');
});
