// The built-in OAuth pages' second step with an authenticator app, in real Chromium (Debian's `chromium`, at
// /usr/bin/chromium or CHROMIUM_PATH) with JavaScript off, driven by the keyboard alone: Tab, typing and Enter.
// The code is computed by otpauth at the test's own time, as the user's phone would. A wrong code comes back as
// an alert tied to the code field and is counted in the account's one failure budget; the right one goes on to
// consent, and openid-client (default settings) exchanges the code the app receives for tokens saying two factors.
import t from 'tap';
import * as oidc from 'openid-client';
import { chromium, type Response } from 'playwright-core';
import { login, register } from '../helper.js';
import { claimsOf, codeAt, confirm, enrol } from '../mfa-fixture.js';
import { focused, nativeApp, pressEnterAndLoad, tesseraWithNativeClient } from '../oauth-page-fixtures.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

t.test('a keyboard user with an authenticator app signs in on the OAuth pages, a wrong code counted', async (t) => {
  const { app, db, issuer, client } = await tesseraWithNativeClient(t);
  const user = await register(app);
  const { accessToken } = await login(app, user.email);
  const { factor_id, secret } = await enrol(app, accessToken);
  // The enrolment takes the previous time step's code (within the ±1 step window), so the sign-in's code, of
  // the current step, is not a replay of it.
  const enrolled = await confirm(app, accessToken, factor_id, codeAt(secret, new Date(Date.now() - 30_000)));
  t.equal(enrolled.statusCode, 200, 'the authenticator app is enrolled');

  const { landed, redirectUri, config, verifier, nonce, authorizeUrl } = await nativeApp(t, issuer, client.id);

  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const documents: Response[] = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'document' && r.url().startsWith(issuer)) documents.push(r);
  });

  await page.goto(authorizeUrl.href);
  t.equal(await page.title(), 'Sign in', 'the sign-in page is shown');
  t.equal((await focused(page)).id, 'email', 'it opens with focus in the email field');
  await page.keyboard.type(user.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(user.password);
  await pressEnterAndLoad(page);

  t.equal(await page.title(), 'Confirm it is you', 'the password leads to the second step');
  let now = await focused(page);
  t.match(now, { id: 'code', focusVisible: true }, 'focus is in the code field, and shown');
  t.equal(await page.getByLabel('Code from your authenticator app').count(), 1, 'the code field has its label');
  const wrongCode = codeAt(secret, new Date()) === '000000' ? '111111' : '000000';
  await page.keyboard.type(wrongCode);
  await pressEnterAndLoad(page);

  t.equal(documents.at(-1)!.status(), 400, 'a wrong code shows the page again (400)');
  t.equal(await page.title(), 'Confirm it is you', 'the same second step');
  const alert = page.getByRole('alert');
  t.match(await alert.textContent(), /./, 'the error is announced as an alert');
  t.equal(await alert.getAttribute('id'), 'mfa-error', 'the alert has the id the field points to');
  t.equal(
    await page.getByLabel('Code from your authenticator app').getAttribute('aria-describedby'),
    'mfa-error',
    'and the code field is described by it, so a screen reader reads the error with the field',
  );
  const guard = await db.database.prisma.mfaGuard.findUnique({ where: { userId: user.user.id } });
  t.equal(guard?.failures, 1, 'the wrong code is counted in the account’s failure budget');
  t.equal(
    await db.database.prisma.auditEvent.count({ where: { type: 'mfa_failed', userId: user.user.id } }),
    1,
    'and audited',
  );

  now = await focused(page);
  t.equal(now.id, 'code', 'focus is back in the code field');
  await page.keyboard.type(codeAt(secret, new Date()));
  await page.keyboard.press('Tab');
  t.equal((await focused(page)).id, 'recovery_code', 'Tab goes to the recovery code field');
  await page.keyboard.press('Tab');
  t.match(await focused(page), { tag: 'button', text: 'Continue', focusVisible: true }, 'then Continue, focus shown');
  await pressEnterAndLoad(page);

  t.equal(await page.title(), 'Allow access?', 'the right code leads to the consent page');
  await page.keyboard.press('Tab');
  t.match(await focused(page), { tag: 'button', text: 'Allow', focusVisible: true }, 'Tab reaches Allow');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.keyboard.press('Enter')]);

  t.equal(landed.length, 1, 'the browser landed on the app once');
  const tokens = await oidc.authorizationCodeGrant(config, landed[0]!, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  t.same(tokens.claims()!.amr, ['pwd', 'otp', 'mfa'], 'the ID token says password and an authenticator code');
  t.equal(claimsOf(tokens.access_token).acr, '2', 'the access token is at level 2');
  const after = await db.database.prisma.mfaGuard.findUnique({ where: { userId: user.user.id } });
  t.equal(after?.failures ?? 0, 0, 'the success clears the failures in a row');
});
