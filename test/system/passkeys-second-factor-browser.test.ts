// A passkey as the second factor of a password sign-in, in a real browser: headless Chromium driven by
// playwright-core with Chrome's virtual authenticator (DevTools Protocol WebAuthn.addVirtualAuthenticator). An SPA
// page on http://localhost:<port> adds a passkey (with user verification) while signed in, signs in again with
// the password, gets mfa_required with the passkey listed as "webauthn", and completes the sign-in with
// navigator.credentials.get() through POST /auth/mfa/passkey/options and POST /auth/mfa/verify, in the order
// docs/step-up.md gives.
import t from 'tap';
import { decodeJwt } from 'jose';
import { call, ceremony, passkeyBrowser } from '../passkey-browser-calls.js';
import { PASSWORD, session } from '../helper.js';

t.test('a passkey added in Chromium is the second factor of the next password sign-in', async (t) => {
  const { app, api, page, cdp, authenticatorId } = await passkeyBrowser(t);

  const { accessToken, user, email } = await session(app);
  const regOptions = await call(page, api, '/auth/passkeys/registration/options', {}, accessToken);
  t.equal(regOptions.status, 200, 'registration options for the signed-in user');
  const created = await ceremony(page, 'create', regOptions.body.options);
  t.notOk(created.error, 'the virtual authenticator creates a passkey');
  const added = await call(
    page,
    api,
    '/auth/passkeys/registration/verify',
    { challenge_id: regOptions.body.challenge_id, response: created.response, label: 'Chromium' },
    accessToken,
  );
  t.equal(added.status, 201, 'Tessera keeps the passkey');
  t.equal(added.body.passkey.user_verified, true, 'it verified the user when it was added');

  const first = await call(page, api, '/auth/login', { email, password: PASSWORD });
  t.equal(first.status, 200, 'the password is right');
  t.equal(first.body.mfa_required, true, 'and the sign-in asks for the second step');
  t.same(
    first.body.factors,
    [{ factor_id: added.body.passkey.id, type: 'webauthn' }],
    'the passkey is the factor offered, as webauthn',
  );
  t.equal((await call(page, api, '/auth/refresh', {})).status, 401, 'no session cookie before the second step');

  const opts = await call(page, api, '/auth/mfa/passkey/options', { mfa_token: first.body.mfa_token });
  t.equal(opts.status, 200, 'passkey options for the pending sign-in');
  const got = await ceremony(page, 'get', opts.body.options);
  t.notOk(got.error, 'the authenticator answers for the user’s own passkey');
  const done = await call(page, api, '/auth/mfa/verify', {
    mfa_token: first.body.mfa_token,
    challenge_id: opts.body.challenge_id,
    response: got.response,
  });
  t.equal(done.status, 200, 'the passkey completes the sign-in');
  const claims = decodeJwt(done.body.access_token);
  t.equal(claims.sub, user.id, 'as the user who signed in');
  t.same(claims.amr, ['pwd', 'hwk', 'user', 'mfa'], 'amr: password, a device-bound key, the verified user, mfa');
  t.equal(claims.acr, '2', 'two factors: acr 2');
  const refreshed = await call(page, api, '/auth/refresh', {});
  t.equal(refreshed.status, 200, 'the refresh cookie the second step set works from the SPA');
  t.equal(decodeJwt(refreshed.body.access_token).acr, '2', 'and its refresh keeps acr 2');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  t.ok(credentials[0]!.signCount > 0, 'the authenticator counted its use');
});
