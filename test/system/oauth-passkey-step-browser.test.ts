// A passkey as the second step of the built-in OAuth pages, in real Chromium (Debian's `chromium`, at
// /usr/bin/chromium or CHROMIUM_PATH) with JavaScript on and Chrome's virtual authenticator (DevTools Protocol
// WebAuthn.addVirtualAuthenticator). The account has a password and a passkey that verified the user, and no
// authenticator app. The page's one script (GET /oauth/assets/passkey-step.js, allowed by the page's CSP nonce)
// shows "Use a passkey"; the keyboard reaches it with Tab, Enter runs the ceremony, and the form posts the answer
// to POST /oauth/authorize/mfa. openid-client (default settings) exchanges the code, and the ID token says which
// factors signed in. A refused answer shows the page again with the error, counted in the one failure budget; a
// passkey of an authenticator without user verification is no second factor, so no passkey step is offered.
import type { Test } from 'tap';
import t from 'tap';
import * as oidc from 'openid-client';
import { chromium, type Page, type Response } from 'playwright-core';
import { session } from '../helper.js';
import { call, ceremony } from '../passkey-browser-calls.js';
import { claimsOf } from '../mfa-fixture.js';
import { focused, nativeApp, pressEnterAndLoad, tesseraWithNativeClient } from '../oauth-page-fixtures.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Tessera on http://localhost:<port> (the WebAuthn RP and origin), a native client with a loopback listener, an
 * account with a password and a passkey added in Chromium (virtual authenticator with user verification), and
 * the authorization request of openid-client; the browser sits on the second-step page, JavaScript on.
 */
async function signedInWithPasskey(t: Test, userVerification = true) {
  const { app, db, issuer, client } = await tesseraWithNativeClient(t, { passkeys: true });

  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ javaScriptEnabled: true });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: userVerification,
      isUserVerified: userVerification,
      automaticPresenceSimulation: true,
    },
  });

  // The user adds the passkey while signed in, from a page of Tessera's origin (the RP's).
  await page.route(`${issuer}/account`, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Account</title>' }),
  );
  await page.goto(`${issuer}/account`);
  const { accessToken, user, email, password } = await session(app);
  const regOptions = await call(page, issuer, '/auth/passkeys/registration/options', {}, accessToken);
  const created = await ceremony(page, 'create', regOptions.body.options);
  const added = await call(
    page,
    issuer,
    '/auth/passkeys/registration/verify',
    { challenge_id: regOptions.body.challenge_id, response: created.response, label: 'Chromium' },
    accessToken,
  );
  t.equal(added.status, 201, 'the passkey is added');
  t.equal(added.body.passkey.user_verified, userVerification, 'its user verification is recorded');

  const { landed, redirectUri, config, verifier, nonce, authorizeUrl } = await nativeApp(t, issuer, client.id);

  const documents: Response[] = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'document' && r.url().startsWith(issuer)) documents.push(r);
  });
  await page.goto(authorizeUrl.href);
  t.equal(await page.title(), 'Sign in', 'the sign-in page is shown');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await pressEnterAndLoad(page);
  return { app, db, page, cdp, authenticatorId, issuer, user, documents, landed, config, verifier, nonce, redirectUri };
}

/** From the recovery code field (where the page opens) the keyboard goes on to Continue, then to the passkey. */
async function tabToPasskeyButton(t: Test, page: Page) {
  t.equal((await focused(page)).id, 'recovery_code', 'the page opens in the recovery code field');
  await page.keyboard.press('Tab');
  t.match(await focused(page), { tag: 'button', text: 'Continue' }, 'Tab reaches Continue');
  await page.keyboard.press('Tab');
  t.match(
    await focused(page),
    { tag: 'button', id: 'passkey-button', text: 'Use a passkey', focusVisible: true },
    'then the passkey button, its focus shown',
  );
}

t.test('a keyboard user completes the OAuth second step with a passkey, and the ID token says so', async (t) => {
  const { app, db, page, cdp, authenticatorId, user, documents, landed, config, verifier, nonce, redirectUri } =
    await signedInWithPasskey(t);
  t.equal(await page.title(), 'Confirm it is you', 'the password leads to the second step');
  await page.getByRole('button', { name: 'Use a passkey' }).waitFor({ state: 'visible' });

  const secondStep = documents.at(-1)!;
  const csp = (await secondStep.allHeaders())['content-security-policy'] ?? '';
  t.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]+'/, 'the page allows its one script by the page’s nonce');
  t.notMatch(csp, /'unsafe-/, 'and no unsafe- source anywhere in its CSP');
  const script = await app.inject({ method: 'GET', url: '/oauth/assets/passkey-step.js' });
  t.equal(script.statusCode, 200, 'Tessera serves the script');
  t.match(script.headers['content-type'], /^text\/javascript/, 'as JavaScript');
  t.equal(script.headers['x-content-type-options'], 'nosniff', 'never sniffed as anything else');
  t.match(script.headers['cache-control'], /max-age=\d+/, 'and cacheable');

  const before = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]!.signCount;
  await tabToPasskeyButton(t, page);
  await Promise.all([page.waitForURL((u) => u.pathname === '/oauth/authorize/mfa'), page.keyboard.press('Enter')]);
  await page.waitForLoadState('load');
  t.equal(documents.at(-1)!.request().method(), 'POST', 'the answer went in an ordinary form POST');
  t.equal(await page.title(), 'Allow access?', 'the passkey leads to the consent page');
  await page.keyboard.press('Tab');
  t.match(await focused(page), { tag: 'button', text: 'Allow' }, 'Tab reaches Allow');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.keyboard.press('Enter')]);

  t.equal(landed.length, 1, 'the browser landed on the app once');
  const tokens = await oidc.authorizationCodeGrant(config, landed[0]!, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  t.same(
    tokens.claims()!.amr,
    ['pwd', 'hwk', 'user', 'mfa'],
    'the ID token says password, a device-bound key, the verified user, and mfa',
  );
  t.equal(claimsOf(tokens.access_token).acr, '2', 'the access token is at level 2');
  const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]!.signCount;
  t.ok(after > before, 'the authenticator signed once more');
  t.equal(
    await db.database.prisma.auditEvent.count({ where: { type: 'mfa_failed', userId: user.id } }),
    0,
    'no failure was counted',
  );
});

t.test('a passkey of an authenticator without user verification is no second factor on the OAuth pages', async (t) => {
  const { page, landed, config, verifier, nonce, redirectUri } = await signedInWithPasskey(t, false);
  // Tessera's rule (docs/passkeys-and-mfa.md): such a passkey signs in by itself, as one factor, and is never
  // offered as the second step of a password.
  t.equal(await page.title(), 'Allow access?', 'the password goes straight to consent: no passkey step offered');
  t.equal(await page.getByRole('button', { name: 'Use a passkey' }).count(), 0, 'and no passkey button');
  await page.keyboard.press('Tab');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.keyboard.press('Enter')]);
  const tokens = await oidc.authorizationCodeGrant(config, landed[0]!, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  t.same(tokens.claims()!.amr, ['pwd'], 'the ID token says the password alone');
  t.equal(claimsOf(tokens.access_token).acr, '1', 'at level 1: the passkey did not count as a second factor');
});

t.test('a refused passkey answer shows the second step again with the error, counted in the budget', async (t) => {
  const { db, page, user, documents, landed } = await signedInWithPasskey(t);
  t.equal(await page.title(), 'Confirm it is you', 'the password leads to the second step');
  await page.getByRole('button', { name: 'Use a passkey' }).waitFor({ state: 'visible' });
  // The answer arrives for a challenge this sign-in never asked for (as a replayed or forged answer would).
  await page.route('**/oauth/authorize/mfa', (route) => {
    const form = new URLSearchParams(route.request().postData() ?? '');
    form.set('passkey_challenge_id', 'x'.repeat(32));
    return route.continue({ postData: form.toString() });
  });
  await tabToPasskeyButton(t, page);
  await Promise.all([page.waitForURL((u) => u.pathname === '/oauth/authorize/mfa'), page.keyboard.press('Enter')]);
  await page.waitForLoadState('load');
  t.equal(documents.at(-1)!.status(), 400, 'the answer is refused (400), like a wrong code');
  t.equal(await page.title(), 'Confirm it is you', 'on the same second step');
  const alert = page.getByRole('alert');
  t.match(await alert.textContent(), /passkey/i, 'the alert says the passkey was refused');
  t.equal(
    await page.getByLabel('Recovery code').getAttribute('aria-describedby'),
    'mfa-error',
    'and the field is described by it, so a screen reader reads it',
  );
  await page.getByRole('button', { name: 'Use a passkey' }).waitFor({ state: 'visible' });
  t.pass('the passkey button is offered again');
  const guard = await db.database.prisma.mfaGuard.findUnique({ where: { userId: user.id } });
  t.equal(guard?.failures, 1, 'the refusal is counted in the account’s one failure budget');
  t.equal(landed.length, 0, 'the browser never reached the app');
});
