// Sign in with an OpenID Connect provider, against a real one: panva's oidc-provider on loopback
// (test/federation-idp.ts), with Tessera listening on a real port and every redirect followed over HTTP.
import t from 'tap';
import { decodeJwt } from 'jose';
import { federationFixture, RETURN_TO, type FederationFixture } from '../federation-fixture.js';
import { IDP_CLIENT, TestBrowser } from '../federation-idp.js';
import { FLOW_COOKIE } from '../../src/http/oauth-flow-cookie.js';
import { login, me, PASSWORD, register, uniqueEmail } from '../helper.js';

const errorOf = (url: URL) => url.searchParams.get('error');
const audits = (f: FederationFixture, type: string) =>
  f.db.database.prisma.auditEvent.findMany({ where: { type }, orderBy: { id: 'asc' } });
let subjects = 0;
const account = (email: string, verified = true) => ({
  sub: `subject-${++subjects}-${Date.now()}`,
  email,
  email_verified: verified,
});

t.test('a first sign-in creates the user, starts a Tessera session, and /auth/me and refresh work', async (t) => {
  const f = await federationFixture(t);
  const email = uniqueEmail();
  f.idp.next = account(email);

  const start = await new TestBrowser().get(f.startUrl());
  t.equal(start.status, 302, 'the start sends the browser on with a redirect');
  const authorize = new URL(start.headers.get('location')!);
  t.equal(authorize.origin, f.idp.issuer, 'the browser is sent to the provider');
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'the provider is asked for PKCE with S256');
  t.ok(
    authorize.searchParams.get('state') &&
      authorize.searchParams.get('nonce') &&
      authorize.searchParams.get('code_challenge'),
    'the authorization request carries a state, a nonce and a code challenge',
  );
  t.equal(
    authorize.searchParams.get('redirect_uri'),
    `${f.tessera}/auth/oauth/local/callback`,
    "the provider is told to return to this provider's Tessera callback",
  );
  const flowCookie = start.headers.getSetCookie().find((c) => c.startsWith(`${FLOW_COOKIE}=`))!;
  t.match(flowCookie, /HttpOnly/i, 'the flow cookie is HttpOnly');
  t.match(flowCookie, /Secure/i, 'the flow cookie is Secure');
  t.match(flowCookie, /SameSite=Lax/i, 'the flow cookie is SameSite=Lax');
  t.match(flowCookie, /Path=\//, 'the flow cookie is sent on every path');
  t.match(flowCookie, /Max-Age=600/, 'the flow cookie lasts ten minutes');
  t.notOk(flowCookie.includes(authorize.searchParams.get('state')!), 'the cookie carries a key, not the state');

  const { browser, landed } = await f.signIn();
  t.equal(landed.href, RETURN_TO, 'back at return_to, with no error');
  t.notOk(browser.cookie(new URL(f.tessera).host, FLOW_COOKIE), 'the flow cookie is cleared');
  const refreshed = await f.refresh(browser);
  t.equal(refreshed.status, 200, 'the SPA refreshes as on every page load');
  t.equal(
    refreshed.claims!.amr,
    undefined,
    'no amr: RFC 8176 registers no value for a sign-in elsewhere, and Tessera did not see how it was done',
  );
  t.equal(refreshed.claims!.idp, 'local', 'the access token says where the sign-in came from in idp');
  const mine = await me(f.app, refreshed.body.access_token as string);
  t.equal(mine.json().email, email, "/auth/me answers with the provider's email");
  const again = await f.refresh(browser);
  t.equal(again.status, 200, 'and keeps refreshing');
  t.equal(again.claims!.idp, 'local', 'a refreshed token still says where the session started');
  t.equal(again.claims!.amr, undefined, 'and still names no unregistered amr value');

  const user = await f.db.database.prisma.user.findUniqueOrThrow({ where: { email } });
  t.equal(user.passwordHash, null, 'no password');
  const identities = await f.db.database.prisma.identity.findMany({ where: { userId: user.id } });
  t.match(
    identities,
    [{ provider: 'local', subject: f.idp.next.sub }],
    "the identity is stored under the provider's subject",
  );
  t.match(
    await audits(f, 'register'),
    [{ userId: user.id, reason: 'idp=local' }],
    'the new account is audited as registered through the provider',
  );
  t.equal((await audits(f, 'federated_login')).length, 1, 'the sign-in is audited once');

  const second = await f.signIn();
  t.equal(errorOf(second.landed), null, 'the second sign-in succeeds');
  const claims = (await f.refresh(second.browser)).claims!;
  t.equal(claims.sub, user.id, 'the next sign-in finds the same user by (provider, subject)');
});

t.test('a password login says amr pwd; an account without a password refuses every password alike', async (t) => {
  const f = await federationFixture(t);
  const reg = await register(f.app);
  const { accessToken } = await login(f.app, reg.email);
  t.same(decodeJwt(accessToken).amr, ['pwd'], 'a password login says amr pwd');
  t.notOk(decodeJwt(accessToken).idp, 'a password login names no provider');

  const email = uniqueEmail();
  f.idp.next = account(email);
  await f.signIn();
  const res = await f.app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: 'any password at all' },
  });
  t.equal(res.statusCode, 401, 'a password login to an account without a password is refused');
  t.equal(res.json().code, 'invalid_credentials', 'the same answer as a wrong password');
  t.match(await audits(f, 'login_failed'), [{ reason: 'no_password' }], 'the refusal is audited as no_password');

  const discovery = (await f.app.inject({ url: '/.well-known/openid-configuration' })).json();
  t.ok(
    discovery.claims_supported.includes('amr') && discovery.claims_supported.includes('idp'),
    'discovery names amr and idp',
  );
});

t.test('GET /auth/providers lists id, name and start URL, never a secret', async (t) => {
  const f = await federationFixture(t);
  const res = await f.app.inject({ url: '/auth/providers' });
  t.equal(res.statusCode, 200, 'the providers list is served');
  t.same(
    res.json().providers.map((p: { id: string }) => p.id),
    ['local', 'trusted', 'down'],
    'every configured provider is listed, in file order',
  );
  t.same(
    res.json().providers[0],
    {
      id: 'local',
      name: 'Local provider',
      type: 'oidc',
      start_url: `${f.tessera}/auth/oauth/local/start`,
    },
    'a provider shows only its id, name, type and start URL',
  );
  t.notOk(res.body.includes('test-client-secret'), 'no client secret is in the providers list');
});

t.test('a return_to off the allow-list, or an unknown provider, is refused with JSON: no open redirect', async (t) => {
  const f = await federationFixture(t);
  for (const bad of [
    'https://evil.example/after',
    '//evil.example/x',
    'http://spa.test.evil.example/',
    'javascript:alert(1)',
    'http://user@spa.test/',
    '/relative',
  ]) {
    const res = await f.app.inject({ url: `/auth/oauth/local/start?return_to=${encodeURIComponent(bad)}` });
    t.equal(res.statusCode, 400, bad);
    t.equal(res.json().code, 'return_to_invalid', bad);
    t.notOk(res.headers.location, `${bad}: no redirect is sent`);
  }
  t.equal((await f.app.inject({ url: '/auth/oauth/local/start' })).json().code, 'return_to_invalid', 'missing');
  const unknown = await f.app.inject({ url: `/auth/oauth/nope/start?return_to=${encodeURIComponent(RETURN_TO)}` });
  t.equal(unknown.statusCode, 404, 'an unknown provider is a 404');
  t.equal(unknown.json().code, 'not_found', 'an unknown provider answers not_found');
});

t.test('the user pressing cancel at the provider comes back with error=oauth_access_denied', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = 'deny';
  const { landed } = await f.signIn();
  t.equal(landed.origin + landed.pathname, RETURN_TO, 'the cancel lands back on the return_to page');
  t.equal(errorOf(landed), 'oauth_access_denied', 'the cancel comes back as oauth_access_denied');
  t.equal(await f.db.database.prisma.session.count(), 0, 'the cancel starts no session');
  t.match(
    await audits(f, 'federated_login_refused'),
    [{ reason: 'idp=local oauth_access_denied' }],
    'the cancel is audited as refused with the provider and code',
  );
});

t.test(
  'linking by email: only a verified email from a provider trusted for linking joins an existing account, and an unverified holder loses its password',
  async (t) => {
    const f = await federationFixture(t);
    const reg = await register(f.app);
    const prisma = f.db.database.prisma;

    f.idp.next = account(reg.email, true);
    const untrusted = await f.signIn('local');
    t.equal(errorOf(untrusted.landed), 'account_link_required', 'an untrusted provider never links by email');
    t.equal(await prisma.identity.count(), 0, 'the untrusted provider linked no identity');

    f.idp.next = account(reg.email, false);
    t.equal(
      errorOf((await f.signIn('trusted')).landed),
      'oauth_email_unverified',
      'a trusted provider without email_verified does not either',
    );
    f.idp.next = account(uniqueEmail(), false);
    t.equal(
      errorOf((await f.signIn('local')).landed),
      'oauth_email_unverified',
      'no new account on an unverified email',
    );
    t.equal(await prisma.user.count(), 1, 'neither unverified sign-in made an account');

    f.idp.next = account(reg.email.toUpperCase(), true);
    const trusted = await f.signIn('trusted');
    t.equal(errorOf(trusted.landed), null, 'the verified email from the trusted provider signs in');
    t.equal((await f.refresh(trusted.browser)).claims!.sub, reg.user.id, 'linked to the existing account');
    t.match(
      await audits(f, 'identity_linked'),
      [{ userId: reg.user.id, reason: 'idp=trusted by_verified_email' }],
      'the link is audited as made by verified email',
    );
    t.equal((await audits(f, 'federated_login_refused')).length, 3, 'the three refused sign-ins are audited');
    // The account's address was never verified: whoever registered it may not own it (pre-account takeover).
    const oldPassword = await f.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: reg.email, password: PASSWORD },
    });
    t.equal(oldPassword.json().code, 'invalid_credentials', 'the password of the unverified holder no longer works');
  },
);

t.test(
  'no client secret, code, state, nonce, flow key or refresh token reaches the logs, on success or failure',
  async (t) => {
    const f = await federationFixture(t, { captureLogs: true, env: { LOG_LEVEL: 'trace' } });
    f.idp.next = account(uniqueEmail());
    const secrets: string[] = [];
    const ok = await f.toCallback();
    const authorize = new URL((await new TestBrowser().get(f.startUrl())).headers.get('location')!);
    secrets.push(authorize.searchParams.get('nonce')!, authorize.searchParams.get('code_challenge')!);
    secrets.push(
      ok.callback.searchParams.get('code')!,
      ok.callback.searchParams.get('state')!,
      ok.browser.cookie(new URL(f.tessera).host, FLOW_COOKIE)!,
    );
    await f.finish(ok.browser, ok.callback);
    secrets.push(ok.browser.cookie(new URL(f.tessera).host, '__Host-tessera_refresh')!);
    const replay = await f.toCallback();
    replay.callback.searchParams.set('code', ok.callback.searchParams.get('code')!);
    t.equal(
      errorOf(await f.finish(replay.browser, replay.callback)),
      'oauth_code_rejected',
      'a code used twice is refused',
    );
    f.idp.tamper = (c) => ({ ...c, aud: 'someone-else' });
    const bad = await f.toCallback();
    secrets.push(bad.callback.searchParams.get('code')!);
    t.equal(
      errorOf(await f.finish(bad.browser, bad.callback)),
      'oauth_response_invalid',
      'an ID token for another audience is refused',
    );
    const logs = f.rawLogs.join('\n');
    t.ok(logs.includes('federated_login'), 'positive control: the sign-in is logged');
    t.ok(logs.includes('oauth_code_rejected'), 'and the failure, by code');
    for (const secret of [IDP_CLIENT.secret, ...secrets])
      t.notOk(logs.includes(secret), `not in the logs: ${secret.slice(0, 6)}…`);
  },
);
