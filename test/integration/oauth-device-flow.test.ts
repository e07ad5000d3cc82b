// The device authorization grant (RFC 8628) through HTTP: what a CLI is given, the verification pages, polling
// (authorization_pending, slow_down remembered, access_denied, expired_token), one redemption, and the tokens.
import t from 'tap';
import { buildTestApp, expectError, login, register } from '../helper.js';
import { bearer } from '../authz-fixtures.js';
import { formFields, refreshGrant } from '../oauth-server-fixtures.js';
import {
  DEVICE_GRANT,
  decide,
  enterCode,
  poll,
  registerDeviceClient,
  signedInBrowser,
  startDevice,
} from '../device-fixtures.js';

const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

t.test('a CLI gets a 256-bit device code and an XXXX-XXXX user code; only their hashes are stored', async (t) => {
  const { app, config } = await buildTestApp(t);
  const { client } = await registerDeviceClient(app);
  const res = await startDevice(app, { client_id: client.id, scope: 'openid offline_access' });
  t.equal(res.statusCode, 200, 'the device authorization request succeeds');
  t.equal(res.headers['cache-control'], 'no-store', 'codes are never cached');
  const body = res.json();
  t.match(body.device_code, /^[A-Za-z0-9_-]{43}$/, 'the device code is 32 random bytes (256 bits) in base64url');
  t.match(body.user_code, USER_CODE, 'the user code is eight letters without look-alikes, shown XXXX-XXXX');
  t.equal(body.verification_uri, `${config.issuer}/oauth/device`, 'the verification page');
  t.equal(
    body.verification_uri_complete,
    `${config.issuer}/oauth/device?user_code=${body.user_code}`,
    'the complete URI carries the code',
  );
  t.equal(body.expires_in, 600, 'codes live ten minutes');
  t.equal(body.interval, 5, 'the device polls every five seconds');
  const rows = await app.services.database.sql.query<Record<string, unknown>>('SELECT * FROM oauth_device_codes', []);
  t.equal(rows.length, 1, 'one row');
  const stored = JSON.stringify(rows[0]);
  t.notOk(stored.includes(body.device_code), 'the device code itself is not stored');
  t.notOk(stored.includes(body.user_code.replace('-', '')), 'the user code itself is not stored');

  const discovery = (await app.inject({ url: '/.well-known/openid-configuration' })).json();
  t.equal(
    discovery.device_authorization_endpoint,
    `${config.issuer}/oauth/device_authorization`,
    'discovery names the device authorization endpoint',
  );
  t.ok(discovery.grant_types_supported.includes(DEVICE_GRANT), 'and lists the device_code grant');

  const openapi = (await app.inject({ url: '/openapi.json' })).json();
  const op = openapi.paths['/oauth/device_authorization']?.post;
  t.ok(op?.responses?.['200'], 'the API document describes the device authorization endpoint and its answer');
  t.ok(openapi.paths['/oauth/device']?.get && openapi.paths['/oauth/device']?.post, 'and the verification page');
  t.ok(openapi.paths['/oauth/device/decision']?.post, 'and its decision');
});

t.test('only a client registered for the device grant may start it, within its scopes', async (t) => {
  const { app } = await buildTestApp(t);
  const { client: web } = await app.services.oauthClients.register(
    {
      client_name: 'Web',
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      scope: 'openid',
    },
    { kind: 'cli' },
    { ip: '127.0.0.1', requestId: 't' },
  );
  const refused = await startDevice(app, { client_id: web.id, scope: 'openid' });
  expectError(t, refused, 'unauthorized_client', 'a client without the grant');
  t.equal(refused.json().error, 'unauthorized_client', 'RFC 6749 error shape');
  t.type(refused.json().error_description, 'string', 'with a description');
  const unknown = await startDevice(app, { client_id: 'nobody', scope: 'openid' });
  expectError(t, unknown, 'invalid_client', 'an unknown client');
  t.equal(unknown.json().error, 'invalid_client', 'RFC 6749 error shape for an unknown client');

  const { client } = await registerDeviceClient(app);
  expectError(t, await startDevice(app, { client_id: client.id, scope: 'admin' }), 'invalid_scope', 'a wider scope');
  expectError(t, await startDevice(app, { client_id: client.id }), 'invalid_scope', 'no scope');

  const { client: confidential, secret } = await registerDeviceClient(app, {
    client_name: 'TV app',
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const basic = `Basic ${Buffer.from(`${confidential.id}:${secret}`).toString('base64')}`;
  const ok = await startDevice(app, { scope: 'openid' }, { authorization: basic });
  t.equal(ok.statusCode, 200, 'a confidential client authenticates as at the token endpoint');
  const noSecret = await startDevice(app, { client_id: confidential.id, scope: 'openid' });
  expectError(t, noSecret, 'invalid_client', 'a confidential client naming itself without its secret');
});

t.test('the user approves on the verification page; the device polls, then gets tokens once', async (t) => {
  const { app, clock } = await buildTestApp(t);
  const { client } = await registerDeviceClient(app);
  const user = await register(app);
  const device = (await startDevice(app, { client_id: client.id, scope: 'openid email offline_access' })).json();

  const pending = await poll(app, client.id, device.device_code);
  expectError(t, pending, 'authorization_pending', 'before the user decides');
  t.equal(pending.json().error, 'authorization_pending', 'RFC 8628 error in the RFC 6749 shape');
  expectError(t, await poll(app, client.id, device.device_code), 'slow_down', 'a poll sooner than 5 s');
  const [row] = await app.services.database.sql.query<{ interval_seconds: number }>(
    'SELECT interval_seconds FROM oauth_device_codes',
    [],
  );
  t.equal(row!.interval_seconds, 10, "slow_down raised this grant's interval by 5 s, in the database");
  clock.advance(6);
  expectError(t, await poll(app, client.id, device.device_code), 'slow_down', 'the raised interval holds: 6 s < 10 s');
  clock.advance(20);
  expectError(t, await poll(app, client.id, device.device_code), 'authorization_pending', 'after the interval (15 s)');

  // The user opens the complete URI: sign in first, then the code is prefilled, but nothing is approved yet.
  const browser = await signedInBrowser(app, user.email);
  const prefilled = await browser.get(`/oauth/device?user_code=${device.user_code}`);
  t.match(prefilled.body, new RegExp(`value="${device.user_code}"`), 'the complete URI prefills the code');
  clock.advance(40);
  expectError(
    t,
    await poll(app, client.id, device.device_code),
    'authorization_pending',
    'prefilling approves nothing',
  );
  const typed = device.user_code.toLowerCase().replace('-', ' ');
  const confirm = await browser.post('/oauth/device', { ...formFields(prefilled.body), user_code: typed });
  t.equal(confirm.statusCode, 200, 'a code typed in lower case with a space is read back');
  t.match(confirm.body, /Notes CLI/, 'the page names the client');
  t.match(confirm.body, /See your email address/, 'and the scopes in plain words');
  t.match(confirm.body, /id="device-ip">127\.0\.0\.1</, "the device's address");
  t.match(confirm.body, /notes-cli\/1\.0 \(linux\)/, "the device's user agent");
  t.match(confirm.body, /id="device-age">1 minute ago</, 'how long ago it asked');
  t.match(confirm.body, /value="approve"[^>]*>Approve<.*value="deny"[^>]*>Deny</s, 'then Approve and Deny');
  clock.advance(20);
  expectError(t, await poll(app, client.id, device.device_code), 'authorization_pending', 'the page approves nothing');
  const done = await browser.post('/oauth/device/decision', { ...formFields(confirm.body), decision: 'approve' });
  t.match(done.body, /Device approved/, 'the user is told it is approved');

  clock.advance(20);
  const granted = await poll(app, client.id, device.device_code);
  t.equal(granted.statusCode, 200, 'the next poll gets tokens');
  const tokens = granted.json();
  t.ok(tokens.access_token && tokens.id_token && tokens.refresh_token, 'access, ID and refresh tokens');
  t.equal(tokens.scope, 'openid email offline_access', 'for the approved scopes');
  const info = await app.inject({ url: '/oauth/userinfo', headers: bearer(tokens.access_token) });
  t.equal(info.json().sub, user.user.id, 'the access token is the user’s');
  const refreshed = await refreshGrant(app, client.id, tokens.refresh_token);
  t.equal(refreshed.statusCode, 200, 'the refresh token works');

  clock.advance(20);
  expectError(t, await poll(app, client.id, device.device_code), 'invalid_grant', 'a redeemed code is spent');
  const { accessToken } = await login(app, user.email);
  const apps = (await app.inject({ url: '/auth/apps', headers: bearer(accessToken) })).json().apps;
  t.equal(apps.length, 1, 'the device shows up in connected apps');
  t.equal(apps[0].client_name, 'Notes CLI', 'by its name');
  t.equal(apps[0].scope, 'openid email offline_access', 'with what it may do');
});

t.test('a denied request answers access_denied, an old one expired_token', async (t) => {
  const { app, clock } = await buildTestApp(t);
  const { client } = await registerDeviceClient(app);
  const user = await register(app);
  const denied = (await startDevice(app, { client_id: client.id, scope: 'openid' })).json();
  const { done } = await decide(app, user.email, denied.user_code, 'deny');
  t.match(done.body, /Device denied/, 'the user is told it is denied');
  expectError(t, await poll(app, client.id, denied.device_code), 'access_denied', 'a denied request');

  const late = (await startDevice(app, { client_id: client.id, scope: 'openid' })).json();
  clock.advance(601);
  expectError(t, await poll(app, client.id, late.device_code), 'expired_token', 'after 600 s');
  const browser = await signedInBrowser(app, user.email);
  const entered = await enterCode(browser, late.user_code);
  t.equal(entered.statusCode, 400, 'an expired code cannot be approved');
  t.match(entered.body, /not valid/, 'the page says so');

  expectError(t, await poll(app, client.id, 'x'.repeat(43)), 'invalid_grant', 'an unknown device code');
  const other = await registerDeviceClient(app, { client_name: 'Other CLI' });
  const fresh = (await startDevice(app, { client_id: client.id, scope: 'openid' })).json();
  expectError(t, await poll(app, other.client.id, fresh.device_code), 'invalid_grant', "another client's code");
});

t.test(
  'the grant is checked again at redemption: a disabled account, an ended session, a disabled client',
  async (t) => {
    const { app, clock } = await buildTestApp(t);
    const { client } = await registerDeviceClient(app);
    const meta = { ip: '127.0.0.1', requestId: 't' };

    const disabled = await register(app);
    const a = (await startDevice(app, { client_id: client.id, scope: 'openid' })).json();
    await decide(app, disabled.email, a.user_code);
    await app.services.accountAdmin.disable(disabled.user.id, { kind: 'cli' }, meta);
    expectError(t, await poll(app, client.id, a.device_code), 'access_denied', 'approved, then the account disabled');

    const signedOut = await register(app);
    const b = (await startDevice(app, { client_id: client.id, scope: 'openid' })).json();
    const { browser } = await decide(app, signedOut.email, b.user_code);
    // Signing out of the browser session that approved (or a password reset ending it) withdraws the approval.
    const logout = await browser.get('/oauth/logout');
    t.ok(logout.statusCode < 500, 'the user signs out');
    const { accessToken } = await login(app, signedOut.email);
    await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(accessToken) });
    expectError(t, await poll(app, client.id, b.device_code), 'access_denied', 'approved, then every session ended');

    const good = await register(app);
    const c = (await startDevice(app, { client_id: client.id, scope: 'openid' })).json();
    await decide(app, good.email, c.user_code);
    await app.services.oauthClients.setDisabled(client.id, true, { kind: 'cli' }, meta);
    clock.advance(10);
    expectError(t, await poll(app, client.id, c.device_code), 'invalid_client', 'approved, then the client disabled');
    await app.services.oauthClients.setDisabled(client.id, false, { kind: 'cli' }, meta);
    clock.advance(10);
    t.equal((await poll(app, client.id, c.device_code)).statusCode, 200, 'the same grant redeems once all is good');
  },
);

t.test('the verification pages: CSRF, no script, a strict CSP, labelled fields', async (t) => {
  const { app } = await buildTestApp(t);
  const user = await register(app);
  const page = await app.inject({ url: '/oauth/device' });
  t.equal(page.statusCode, 200, 'a signed-out visitor gets the sign-in form');
  t.match(page.body, /action="\/oauth\/device\/login"/, 'which comes back to the device page');
  const csp = String(page.headers['content-security-policy']);
  t.match(csp, /default-src 'none'/, 'nothing loads');
  t.match(csp, /form-action 'self';/, 'forms post only to Tessera');
  t.match(csp, /frame-ancestors 'none'/, 'no framing');
  t.notMatch(page.body, /<script/i, 'no script');
  const browser = await signedInBrowser(app, user.email);
  t.match(browser.entry.body, /<label for="user_code">Code<\/label>/, 'the code field is labelled');
  const forged = await browser.post('/oauth/device', { user_code: 'BCDF-GHJK' });
  t.equal(forged.statusCode, 403, 'a form without its CSRF token is refused');
  const crossSite = await browser.post(
    '/oauth/device',
    { ...formFields(browser.entry.body), user_code: 'BCDF-GHJK' },
    { 'sec-fetch-site': 'cross-site' },
  );
  t.equal(crossSite.statusCode, 403, 'a cross-site post is refused');
  const noDecision = await browser.post('/oauth/device/decision', {
    ...formFields(browser.entry.body),
    device_id: '00000000-0000-4000-8000-000000000000',
    decision: 'approve',
  });
  t.equal(noDecision.statusCode, 400, 'a decision on an unknown request decides nothing');
});
