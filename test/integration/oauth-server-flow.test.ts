// The authorization code flow through the built-in pages, end to end over HTTP: sign in, consent, code,
// tokens, refresh, userinfo, SSO on the second authorization, remembered consent, prompt and max_age.
import t from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp, expectError, register } from '../helper.js';
import {
  Browser,
  authorizeCode,
  authorizeQuery,
  exchangeCode,
  pkce,
  redirectParams,
  refreshGrant,
  registerClient,
} from '../oauth-server-fixtures.js';

t.test('a native app signs a user in through the built-in pages and gets tokens for the code', async (t) => {
  const { app, config } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const browser = new Browser(app);
  const { verifier, challenge } = pkce();
  const login = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  t.equal(login.statusCode, 200, 'the sign-in page is shown to a browser without a session');
  t.match(login.headers['content-security-policy'], /frame-ancestors 'none'/, 'the page may not be framed');
  t.notMatch(login.body, /<script/i, 'the page has no script');
  const consent = await browser.signIn(login, user.email);
  t.equal(consent.statusCode, 200, 'after the password comes the consent page');
  t.match(consent.body, /Notes for Desktop/, 'the consent page names the client');
  const done = await browser.consent(consent);
  t.equal(done.statusCode, 303, 'allowing redirects back to the app');
  const params = redirectParams(done);
  t.equal(params.base, 'http://127.0.0.1:53123/callback', 'the redirect goes to the loopback URI the app gave');
  t.equal(params.get('state'), 'st-1', 'state comes back unchanged');
  t.equal(params.get('iss'), config.issuer, 'the response names the issuer (RFC 9207)');

  const tokens = await exchangeCode(app, client.id, params.get('code')!, verifier);
  t.equal(tokens.statusCode, 200, 'the code is exchanged for tokens');
  const body = tokens.json();
  t.ok(body.refresh_token, 'offline_access brings a refresh token');
  const id = decodeJwt(body.id_token);
  t.equal(id.aud, client.id, 'the ID token is for the client');
  t.equal(id.nonce, 'n-1', 'the ID token carries the nonce');
  t.equal(id.sub, user.user.id, 'the ID token names the user');
  t.ok(id.at_hash && id.sid && id.auth_time, 'the ID token carries at_hash, sid and auth_time');

  const info = await app.inject({ url: '/oauth/userinfo', headers: { authorization: `Bearer ${body.access_token}` } });
  t.same(
    info.json(),
    { sub: user.user.id, email: user.email, email_verified: false },
    'userinfo answers the email scope',
  );
  const me = await app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${body.access_token}` } });
  expectError(t, me, 'invalid_token', "a client's token does not open Tessera's own account endpoints");

  const refreshed = await refreshGrant(app, client.id, body.refresh_token);
  t.equal(refreshed.statusCode, 200, 'the refresh token is exchanged');
  t.not(refreshed.json().refresh_token, body.refresh_token, 'the refresh token rotates');
});

t.test('a second authorization in the same browser skips sign-in and consent', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const first = await authorizeCode(app, client.id, user.email);
  const { challenge } = pkce();
  const again = await first.browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  t.equal(again.statusCode, 303, 'the browser session and the remembered consent go straight to the redirect');
  t.ok(redirectParams(again).get('code'), 'with a code');

  const forced = await first.browser.get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { prompt: 'login' })}`,
  );
  t.equal(forced.statusCode, 200, 'prompt=login asks for the password again');
  t.match(forced.body, /authorize\/login/, 'with the sign-in form');
  const consent = await first.browser.get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { prompt: 'consent' })}`,
  );
  t.match(consent.body, /authorize\/consent/, 'prompt=consent shows the consent page again');
  const aged = await first.browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge, { max_age: '0' })}`);
  t.match(aged.body, /authorize\/login/, 'max_age=0 asks for the password again');
});

t.test('a first-party client skips consent; a wider scope asks again', async (t) => {
  const { app } = await buildTestApp(t);
  const { client: own } = await registerClient(app, { first_party: true });
  const user = await register(app);
  const browser = new Browser(app);
  const { challenge } = pkce();
  const login = await browser.get(`/oauth/authorize?${authorizeQuery(own.id, challenge)}`);
  const after = await browser.signIn(login, user.email);
  t.equal(after.statusCode, 303, 'a first-party client gets the code right after sign-in');

  const { client: other } = await registerClient(app);
  const narrow = await authorizeCode(app, other.id, user.email, { scope: 'openid' }, browser);
  t.ok(narrow.code, 'consent to openid only');
  const wider = await browser.get(`/oauth/authorize?${authorizeQuery(other.id, challenge)}`);
  t.match(wider.body, /authorize\/consent/, 'asking for more than was consented shows the consent page');
});

t.test('prompt=none without a session, or without consent, goes back with an error', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const { challenge } = pkce();
  const none = await new Browser(app).get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { prompt: 'none' })}`,
  );
  t.equal(none.statusCode, 303, 'prompt=none never shows a page');
  t.equal(redirectParams(none).get('error'), 'login_required', 'login_required without a session');
  t.equal(redirectParams(none).get('state'), 'st-1', 'with the state');

  const browser = new Browser(app);
  const login = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  await browser.signIn(login, user.email);
  const noConsent = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge, { prompt: 'none' })}`);
  t.equal(redirectParams(noConsent).get('error'), 'consent_required', 'consent_required when none was given');
});

t.test('denying consent sends access_denied back to the app', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const browser = new Browser(app);
  const { challenge } = pkce();
  const login = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  const consent = await browser.signIn(login, user.email);
  const denied = await browser.consent(consent, 'deny');
  t.equal(denied.statusCode, 303, 'deny redirects back');
  t.equal(redirectParams(denied).get('error'), 'access_denied', 'with access_denied');
});

t.test('a wrong password shows the sign-in page again with the error', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const browser = new Browser(app);
  const { challenge } = pkce();
  const login = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  const wrong = await browser.signIn(login, user.email, 'not the password at all');
  t.equal(wrong.statusCode, 401, 'a wrong password answers 401');
  t.match(wrong.body, /role="alert"/, 'the page shows the error as an alert');
  t.notOk(browser.cookies.has('__Host-tessera_sso'), 'no browser session starts');
});

t.test('login_hint fills in the sign-in page’s email, escaped; the user may still change it', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const browser = new Browser(app);
  const { challenge } = pkce();
  const page = await browser.get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { login_hint: 'ada"<b>@example.com' })}`,
  );
  t.equal(page.statusCode, 200, 'the sign-in page is shown');
  t.match(page.body, /name="email"[^>]*value="ada&quot;&lt;b&gt;@example\.com"/, 'the hint is the email, as text');
  t.notMatch(page.body, /<b>@example/, 'never as markup');
});
