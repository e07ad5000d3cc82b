// The authorization endpoint's second step, driven by openid-client (v6, default settings) against a listening
// Tessera: the built-in sign-in asks an account with a factor for a code after the password; the ID token, the
// access token and the refreshed token carry the amr and acr of that sign-in; acr_values=2 asks a one-factor
// browser session again, and a two-factor one not.
import t, { type Test } from 'tap';
import * as oidc from 'openid-client';
import { buildTestApp, login, register } from '../helper.js';
import { freePort } from '../free-port.js';
import { FetchBrowser, formFields, NATIVE_REDIRECT, SystemClock, meta } from '../oauth-server-fixtures.js';
import { claimsOf, codeAt, confirm, enrol } from '../mfa-fixture.js';

const insecure = { execute: [oidc.allowInsecureRequests] };

async function setUp(t: Test) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { app } = await buildTestApp(t, { env: { ISSUER: issuer }, clock: new SystemClock() });
  await app.listen({ port, host: '127.0.0.1' });
  const { client } = await app.services.oauthClients.register(
    {
      client_name: 'Ledger',
      redirect_uris: [NATIVE_REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid offline_access',
    },
    { kind: 'cli' },
    meta,
  );
  const config = await oidc.discovery(new URL(issuer), client.id, undefined, oidc.None(), insecure);
  return { app, issuer, config };
}

async function authorizationUrl(config: oidc.Configuration, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: NATIVE_REDIRECT,
    scope: 'openid offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    ...extra,
  });
  return { url, verifier, nonce };
}

t.test('openid-client completes a sign-in with a second step; its tokens say two factors', async (t) => {
  const { app, config } = await setUp(t);
  const user = await register(app);
  const { accessToken } = await login(app, user.email);
  const { factor_id, secret } = await enrol(app, accessToken);
  const confirmed = await confirm(app, accessToken, factor_id, codeAt(secret, new Date()));
  const recovery = confirmed.json().recovery_codes as string[];

  const browser = new FetchBrowser(new URL(config.serverMetadata().issuer).origin);
  const first = await authorizationUrl(config);
  const loginPage = await (await browser.go(first.url.href)).text();
  const afterPassword = await browser.post('/oauth/authorize/login', {
    ...formFields(loginPage),
    email: user.email,
    password: user.password,
  });
  t.equal(afterPassword.status, 200, 'the password alone does not finish the sign-in');
  const stepHtml = await afterPassword.text();
  t.match(stepHtml, 'action="/oauth/authorize/mfa"', 'a second-step page follows the password');
  t.match(stepHtml, '<label for="code">', 'its code field is labelled');
  t.match(afterPassword.headers.get('content-security-policy') ?? '', "default-src 'none'", 'under the pages’ CSP');
  t.notOk(
    afterPassword.headers.getSetCookie().some((c) => c.startsWith('__Host-tessera_sso=')),
    'no SSO cookie yet',
  );
  const fields = formFields(stepHtml);
  t.ok(fields.mfa_token && fields.csrf, 'the mfa_token and the CSRF token ride in hidden fields');

  const wrong = await browser.post('/oauth/authorize/mfa', { ...fields, code: '000000' });
  t.equal(wrong.status, 400, 'a wrong code shows the page again');
  t.match(await wrong.text(), 'role="alert"', 'with the error announced');
  const noCsrf = await browser.post('/oauth/authorize/mfa', {
    ...fields,
    csrf: 'x'.repeat(43),
    recovery_code: recovery[0]!,
  });
  t.equal(noCsrf.status, 403, 'a post without the CSRF token is refused');

  const consent = await browser.post('/oauth/authorize/mfa', { ...fields, recovery_code: recovery[0]! });
  const consentHtml = await consent.text();
  t.match(consentHtml, '/oauth/authorize/consent', 'the recovery code completes the sign-in: the consent page');
  const done = await browser.post('/oauth/authorize/consent', { ...formFields(consentHtml), decision: 'allow' });
  t.equal(done.status, 303, 'then the redirect to the app');

  const tokens = await oidc.authorizationCodeGrant(config, new URL(done.headers.get('location')!), {
    pkceCodeVerifier: first.verifier,
    expectedNonce: first.nonce,
    idTokenExpected: true,
  });
  const id = tokens.claims()!;
  t.same(id.amr, ['pwd', 'mfa'], 'the ID token says password and a second factor');
  t.equal(id.acr, '2', 'at level 2');
  t.equal(typeof id.auth_time, 'number', 'with auth_time');
  t.same(claimsOf(tokens.access_token).amr, ['pwd', 'mfa'], 'the access token says the same');
  t.equal(claimsOf(tokens.access_token).acr, '2', 'level 2 in the access token too');
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  t.equal(claimsOf(refreshed.access_token).acr, '2', 'a refresh keeps the level of the sign-in');

  const second = await authorizationUrl(config, { acr_values: '2' });
  const again = await browser.go(second.url.href);
  t.equal(again.status, 303, 'acr_values=2 with a two-factor browser session: no new sign-in');
});

t.test('acr_values=2 asks a one-factor browser session again once the account has a factor', async (t) => {
  const { app, config } = await setUp(t);
  const user = await register(app);
  const browser = new FetchBrowser(new URL(config.serverMetadata().issuer).origin);
  const first = await authorizationUrl(config);
  await browser.authorize(first.url, user.email, user.password);

  const plain = await authorizationUrl(config, { acr_values: '2' });
  t.equal((await browser.go(plain.url.href)).status, 303, 'no factor on the account: acr_values is voluntary');

  const { accessToken } = await login(app, user.email);
  const { factor_id, secret } = await enrol(app, accessToken);
  await confirm(app, accessToken, factor_id, codeAt(secret, new Date()));
  const asked = await browser.go((await authorizationUrl(config, { acr_values: '2' })).url.href);
  t.equal(asked.status, 200, 'with a factor now, the one-factor session is asked to sign in again');
  t.match(await asked.text(), '/oauth/authorize/login', 'the sign-in page');
  const lower = await browser.go((await authorizationUrl(config, { acr_values: '1' })).url.href);
  t.equal(lower.status, 303, 'acr_values=1 is met by the one-factor session');
});
