// Attacks on the authorization server, each through HTTP against a real database: codes redeemed in
// parallel and replayed, PKCE downgrades, a code or refresh token of one client at another, the consent form
// without its CSRF token or from another site, open redirects through every error path, framing, a client
// or user disabled mid-flow; and the cost of the code exchange and of an OAuth refresh (one statement each).
import t from 'tap';
import {
  ManualClock,
  REFRESH_COOKIE,
  buildTestApp,
  expectError,
  login,
  recordStatements,
  register,
} from '../helper.js';
import {
  Browser,
  authorizeCode,
  authorizeQuery,
  exchangeCode,
  formFields,
  meta,
  pkce,
  redirectParams,
  refreshGrant,
  registerClient,
} from '../oauth-server-fixtures.js';

t.test('of 20 parallel redemptions of one code exactly one succeeds, and the replays end its grant', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, client.id, user.email);
  const answers = await Promise.all(Array.from({ length: 20 }, () => exchangeCode(app, client.id, code, verifier)));
  const won = answers.filter((r) => r.statusCode === 200);
  t.equal(won.length, 1, 'exactly one redemption gets tokens');
  for (const r of answers.filter((r) => r.statusCode !== 200))
    expectError(t, r, 'invalid_grant', 'a losing redemption');
  const refreshed = await refreshGrant(app, client.id, won[0]!.json().refresh_token);
  expectError(t, refreshed, 'invalid_grant', 'the tokens issued from a code presented twice are revoked');
});

t.test('a code presented again after its redemption revokes what it issued', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, client.id, user.email);
  const first = await exchangeCode(app, client.id, code, verifier);
  t.equal(first.statusCode, 200, 'the first redemption succeeds');
  const { access_token: accessToken, refresh_token: refreshToken } = first.json();
  expectError(t, await exchangeCode(app, client.id, code, verifier), 'invalid_grant', 'the replay');
  expectError(t, await refreshGrant(app, client.id, refreshToken), 'invalid_grant', 'its refresh token stops');
  const info = await app.inject({ url: '/oauth/userinfo', headers: { authorization: `Bearer ${accessToken}` } });
  expectError(t, info, 'invalid_token', 'its access token no longer opens userinfo');
  const row = await app.services.database.prisma.auditEvent.findFirst({ where: { type: 'oauth_code_replayed' } });
  t.ok(row, 'the replay is audited');
});

t.test('PKCE: a missing challenge, plain, and a wrong verifier are all refused', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const browser = new Browser(app);
  const { challenge } = pkce();
  const missing = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge, { code_challenge: '' })}`);
  t.equal(redirectParams(missing).get('error'), 'invalid_request', 'no code_challenge: invalid_request');
  const plain = await browser.get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { code_challenge_method: 'plain' })}`,
  );
  t.equal(redirectParams(plain).get('error'), 'invalid_request', 'plain: invalid_request');
  const noMethod = await browser.get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { code_challenge_method: '' })}`,
  );
  t.equal(redirectParams(noMethod).get('error'), 'invalid_request', 'no method (plain by default): refused');
  const { code } = await authorizeCode(app, client.id, user.email);
  const wrong = await exchangeCode(app, client.id, code, pkce().verifier);
  expectError(t, wrong, 'invalid_grant', 'another verifier');
});

t.test('a code or a refresh token of client A is refused at client B', async (t) => {
  const { app } = await buildTestApp(t);
  const { client: a } = await registerClient(app);
  const { client: b } = await registerClient(app, { client_name: 'Other App' });
  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, a.id, user.email);
  expectError(t, await exchangeCode(app, b.id, code, verifier), 'invalid_grant', "A's code at B");
  const tokens = await exchangeCode(app, a.id, code, verifier);
  t.equal(tokens.statusCode, 200, 'A can still redeem its code: B burned nothing');
  const refresh = tokens.json().refresh_token;
  expectError(t, await refreshGrant(app, b.id, refresh), 'invalid_grant', "A's refresh token at B");
  t.equal((await refreshGrant(app, a.id, refresh)).statusCode, 200, 'and A can still refresh: B burned nothing');
  const cookie = await app.inject({ method: 'POST', url: '/auth/refresh', cookies: { [REFRESH_COOKIE]: refresh } });
  t.not(cookie.statusCode, 200, "an app's refresh token is not a browser's refresh cookie");
});

t.test(
  'two parallel refreshes of one native app both work; a replay outside the grace window ends the grant',
  async (t) => {
    const { app, clock } = await buildTestApp(t);
    const { client } = await registerClient(app);
    const user = await register(app);
    const { code, verifier } = await authorizeCode(app, client.id, user.email);
    const first = (await exchangeCode(app, client.id, code, verifier)).json().refresh_token;
    const [x, y] = await Promise.all([refreshGrant(app, client.id, first), refreshGrant(app, client.id, first)]);
    t.equal(x.statusCode, 200, 'the first process refreshes');
    t.equal(y.statusCode, 200, 'the second process refreshes too (grace)');
    t.equal(x.json().refresh_token, y.json().refresh_token, 'both hold the one live token');
    clock.advance(3600);
    const next = await refreshGrant(app, client.id, x.json().refresh_token);
    t.equal(next.statusCode, 200, 'the live token refreshes later');
    clock.advance(3600);
    expectError(t, await refreshGrant(app, client.id, first), 'invalid_grant', 'a stolen old token replayed');
    expectError(t, await refreshGrant(app, client.id, next.json().refresh_token), 'invalid_grant', 'the grant ended');
  },
);

t.test('the consent form without its CSRF token, or posted cross-site, is refused', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const browser = new Browser(app);
  const { challenge } = pkce();
  const login = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  const consent = await browser.signIn(login, user.email);
  const { csrf: _csrf, ...noToken } = formFields(consent.body);
  const without = await browser.post('/oauth/authorize/consent', { ...noToken, decision: 'allow' });
  t.equal(without.statusCode, 403, 'no CSRF token: 403');
  t.notOk(without.headers.location, 'and no redirect');
  const crossSite = await browser.post(
    '/oauth/authorize/consent',
    { ...formFields(consent.body), decision: 'allow' },
    { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example.com' },
  );
  t.equal(crossSite.statusCode, 403, 'a cross-site POST with the token: 403');
  const loginNoToken = await browser.post('/oauth/authorize/login', {
    ...noToken,
    email: user.email,
    password: user.password,
  });
  t.equal(loginNoToken.statusCode, 403, 'the sign-in form without its token: 403');
});

t.test('the pages may not be framed and run no script', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const { challenge } = pkce();
  const page = await new Browser(app).get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  const csp = String(page.headers['content-security-policy']);
  t.match(csp, /frame-ancestors 'none'/, 'CSP frame-ancestors none');
  t.match(csp, /default-src 'none'/, 'nothing loads by default');
  t.notMatch(csp, /script-src/, 'no script source is allowed');
  t.equal(page.headers['x-frame-options'], 'DENY', 'X-Frame-Options DENY for older browsers');
  t.match(page.body, /<label for="email">/, 'fields have labels');
  const error = await new Browser(app).get('/oauth/authorize?client_id=nope');
  t.match(String(error.headers['content-security-policy']), /frame-ancestors 'none'/, 'the error page too');
});

t.test('no error path redirects to an unregistered URI', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app, { redirect_uris: ['https://app.example.com/cb'] });
  const { challenge } = pkce();
  const evil = 'https://evil.example.com/cb';
  const cases: [string, Record<string, string>][] = [
    ['unknown client', { client_id: 'no-such-client', redirect_uri: evil }],
    ['unregistered redirect', { redirect_uri: evil }],
    ['prefix of the registered one', { redirect_uri: 'https://app.example.com/cb/x' }],
    ['bad response_type and unregistered redirect', { redirect_uri: evil, response_type: 'token' }],
    ['bad scope and unregistered redirect', { redirect_uri: evil, scope: 'admin' }],
    ['no PKCE and unregistered redirect', { redirect_uri: evil, code_challenge: '' }],
    ['prompt=none and unregistered redirect', { redirect_uri: evil, prompt: 'none' }],
  ];
  for (const [name, extra] of cases) {
    const res = await new Browser(app).get(`/oauth/authorize?${authorizeQuery(client.id, challenge, extra)}`);
    t.equal(res.statusCode, 400, `${name}: the error page`);
    t.notOk(res.headers.location, `${name}: never a redirect`);
    t.match(res.body, /data-code="authorization_request_invalid"/, `${name}: names the error code`);
  }
  const repeated = await new Browser(app).get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { redirect_uri: 'https://app.example.com/cb' })}&redirect_uri=${encodeURIComponent(evil)}`,
  );
  t.notOk(repeated.headers.location, 'a repeated redirect_uri is never followed');
  const logout = await new Browser(app).get(`/oauth/logout?post_logout_redirect_uri=${encodeURIComponent(evil)}`);
  t.notOk(logout.headers.location, 'logout never redirects to an unregistered URI');
});

t.test('a client disabled or a user disabled mid-flow gets no tokens', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, client.id, user.email);
  await app.services.oauthClients.setDisabled(client.id, true, { kind: 'cli' }, meta);
  expectError(t, await exchangeCode(app, client.id, code, verifier), 'invalid_client', 'the disabled client');
  await app.services.oauthClients.setDisabled(client.id, false, { kind: 'cli' }, meta);

  const second = await authorizeCode(app, client.id, user.email);
  await app.services.accountAdmin.disable(user.user.id, { kind: 'cli' }, meta);
  expectError(
    t,
    await exchangeCode(app, client.id, second.code, second.verifier),
    'invalid_grant',
    'the disabled user',
  );
  const { challenge } = pkce();
  const again = await second.browser.get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { prompt: 'none' })}`,
  );
  t.equal(redirectParams(again).get('error'), 'login_required', "a disabled user's browser session is over");
});

t.test('a code whose browser session ended before it was redeemed gets no tokens', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, client.id, user.email);
  // "Sign out everywhere" (or an admin's factor reset) within the code's 60 s ends the session that approved it.
  const { accessToken } = await login(app, user.email);
  const ended = await app.inject({
    method: 'POST',
    url: '/auth/logout-all',
    headers: { authorization: `Bearer ${accessToken}` },
  });
  t.equal(ended.statusCode, 204, 'every session of the user ended');
  expectError(t, await exchangeCode(app, client.id, code, verifier), 'invalid_grant', 'the code is no longer good');
  t.equal(
    await app.services.database.prisma.session.count({ where: { userId: user.user.id, clientId: client.id } }),
    0,
    'and no grant was started from it',
  );
});

t.test('disabling a client ends its grants at once; introspection says inactive', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, client.id, user.email);
  const tokens = (await exchangeCode(app, client.id, code, verifier)).json();
  await app.services.oauthClients.setDisabled(client.id, true, { kind: 'cli' }, meta);
  const introspected = await app.services.introspection.introspect(tokens.access_token);
  t.same(introspected, { active: false }, 'the access token is inactive');
  await app.services.oauthClients.setDisabled(client.id, false, { kind: 'cli' }, meta);
  expectError(
    t,
    await refreshGrant(app, client.id, tokens.refresh_token),
    'invalid_grant',
    'its refresh token stopped',
  );
});

t.test('the code exchange and an OAuth refresh are one statement each, client authentication included', async (t) => {
  const { app, db } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const warm = await authorizeCode(app, client.id, user.email);
  // The first request of a client on an instance reads its row (the instance holds no copy of it yet); later
  // ones use the copy, which the grant's own statement re-checks. Both warm-ups stay out of the count.
  const rec0 = recordStatements(db);
  const warmTokens = (await exchangeCode(app, client.id, warm.code, warm.verifier)).json();
  t.ok(
    rec0.stop().some((q) => /FROM "public"\."oauth_clients"/.test(q)),
    'the first exchange of a client on an instance reads the client',
  );
  await refreshGrant(app, client.id, warmTokens.refresh_token); // first use of each statement, out of the count
  const { code, verifier } = await authorizeCode(app, client.id, user.email, {}, warm.browser);

  // Everything the request does is counted: client authentication and the grant.
  const rec = recordStatements(db);
  const exchanged = await exchangeCode(app, client.id, code, verifier);
  const exchange = rec.stop();
  t.equal(exchanged.statusCode, 200, 'the counted exchange succeeds');
  t.equal(exchange.length, 1, `one statement: ${exchange.map((q) => q.slice(0, 40)).join(' | ')}`);
  t.match(exchange[0], /UPDATE oauth_codes/, 'the code is spent, the grant started and audited together');

  const rec2 = recordStatements(db);
  const refreshed = await refreshGrant(app, client.id, exchanged.json().refresh_token);
  const refresh = rec2.stop();
  t.equal(refreshed.statusCode, 200, 'the counted refresh succeeds');
  t.equal(refresh.length, 1, `one statement: ${refresh.map((q) => q.slice(0, 40)).join(' | ')}`);
  t.match(refresh[0], /UPDATE sessions/, 'the compare-and-swap on the grant');
});

t.test('the purge deletes codes a day after they expired, not before', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { client } = await registerClient(app);
  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, client.id, user.email);
  t.equal((await exchangeCode(app, client.id, code, verifier)).statusCode, 200, 'the code is redeemed');
  clock.advance(3600);
  t.equal(
    await app.services.oauth.codes.purge(),
    0,
    'an hour after it expired the code stays: a replay still ends its grant',
  );
  clock.advance(86_400);
  t.equal(await app.services.oauth.codes.purge(), 1, 'a day after it expired it goes');
  expectError(
    t,
    await exchangeCode(app, client.id, code, verifier),
    'invalid_grant',
    'presented afterwards, it is refused',
  );
});
