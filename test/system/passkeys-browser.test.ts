// Passkeys in a real browser: headless Chromium (Debian's `chromium`, at /usr/bin/chromium or CHROMIUM_PATH)
// driven by playwright-core, with Chrome's virtual authenticator (DevTools Protocol WebAuthn domain: CTAP2,
// internal transport, resident keys, user verification). An SPA page on http://localhost:<port> (a secure
// context) calls Tessera on http://localhost:<other port> with plain navigator.credentials and the WebAuthn
// JSON helpers, in the order docs/passkeys-and-mfa.md gives: add a passkey while signed in, sign out, sign in usernameless.
import t from 'tap';
import { decodeJwt } from 'jose';
import { call, ceremony, passkeyBrowser } from '../passkey-browser-calls.js';
import { session } from '../helper.js';

t.test(
  'a passkey added in Chromium signs in usernameless after sign-out; UV off fails a UV-required sign-in',
  async (t) => {
    const { app, api, page, cdp, authenticatorId } = await passkeyBrowser(t);

    // Signed in with a password (in the test, through HTTP), the SPA adds a passkey.
    const { accessToken, user } = await session(app);
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
    const startCount = added.body.passkey.sign_count;
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    t.equal(credentials.length, 1, 'the authenticator holds one credential');
    t.ok(credentials[0]!.isResidentCredential, 'a discoverable one (usernameless sign-in)');

    // Sign out (there is no cookie yet from a passkey; this ends nothing and clears nothing), then sign in.
    t.equal((await call(page, api, '/auth/logout', {})).status, 204, 'sign out');
    t.equal((await call(page, api, '/auth/refresh', {})).status, 401, 'signed out: no session to refresh');
    const signIn = await call(page, api, '/auth/passkeys/sign-in/options', {});
    const got = await ceremony(page, 'get', signIn.body.options);
    t.notOk(got.error, 'the authenticator answers without being told who the user is');
    const verified = await call(page, api, '/auth/passkeys/sign-in/verify', {
      challenge_id: signIn.body.challenge_id,
      response: got.response,
    });
    t.equal(verified.status, 200, 'the passkey signs in');
    const claims = decodeJwt(verified.body.access_token);
    t.equal(claims.sub, user.id, 'as the user who added it');
    t.same(claims.amr, ['hwk', 'user'], 'a device-bound key that verified the user: amr hwk and user');
    t.equal(claims.acr, '2', 'two factors: acr 2');
    const refreshed = await call(page, api, '/auth/refresh', {});
    t.equal(refreshed.status, 200, 'the refresh cookie the sign-in set works from the SPA');

    const listed = await call(page, api, '/auth/passkeys', undefined, refreshed.body.access_token);
    t.ok(listed.body.passkeys[0].sign_count > startCount, 'the sign count rose with the sign-in');

    // User verification off: a sign-in that requires it is refused by Tessera, whatever the page asks for.
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    const strict = await call(page, api, '/auth/passkeys/sign-in/options', { user_verification: 'required' });
    t.equal(strict.body.options.userVerification, 'required', 'the options require user verification');
    const unverified = await ceremony(page, 'get', strict.body.options, 'discouraged');
    t.notOk(unverified.error, 'a page that asks the authenticator for less still gets an answer');
    const refused = await call(page, api, '/auth/passkeys/sign-in/verify', {
      challenge_id: strict.body.challenge_id,
      response: unverified.response,
    });
    t.equal(refused.status, 401, 'Tessera refuses it');
    t.equal(refused.body.code, 'passkey_user_verification_required', 'because the user was not verified');
    const asked = await call(page, api, '/auth/passkeys/sign-in/options', { user_verification: 'required' });
    const browserRefused = await ceremony(page, 'get', asked.body.options);
    t.ok(browserRefused.error, 'asked for user verification it cannot give, the browser gives no answer at all');
  },
);
