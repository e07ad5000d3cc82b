// Sign in with an OpenID Connect provider, against a real one: panva's oidc-provider on loopback
// (test/federation-idp.ts), with Tessera listening on a real port and every redirect followed over HTTP.
import t from 'tap';
import { decodeJwt } from 'jose';
import { federationFixture, RETURN_TO, SPA, type FederationFixture } from './federation-fixture.js';
import { IDP_CLIENT, TestBrowser } from './federation-idp.js';
import { FLOW_COOKIE } from '../src/http/oauth-flow-cookie.js';
import { login, me, register, uniqueEmail } from './helper.js';

const errorOf = (url: URL) => url.searchParams.get('error');
const audits = (f: FederationFixture, type: string) => f.db.database.prisma.auditEvent.findMany({ where: { type }, orderBy: { id: 'asc' } });
let subjects = 0;
const account = (email: string, verified = true) => ({ sub: `subject-${++subjects}-${Date.now()}`, email, email_verified: verified });

t.test('a first sign-in creates the user, starts a Tessera session, and /auth/me and refresh work', async (t) => {
  const f = await federationFixture(t);
  const email = uniqueEmail();
  f.idp.next = account(email);

  const start = await new TestBrowser().get(f.startUrl());
  t.equal(start.status, 302);
  const authorize = new URL(start.headers.get('location')!);
  t.equal(authorize.origin, f.idp.issuer, 'the browser is sent to the provider');
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  t.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce') && authorize.searchParams.get('code_challenge'));
  t.equal(authorize.searchParams.get('redirect_uri'), `${f.tessera}/auth/oauth/local/callback`);
  const flowCookie = start.headers.getSetCookie().find((c) => c.startsWith(`${FLOW_COOKIE}=`))!;
  t.match(flowCookie, /HttpOnly/i);
  t.match(flowCookie, /Secure/i);
  t.match(flowCookie, /SameSite=Lax/i);
  t.match(flowCookie, /Path=\//);
  t.match(flowCookie, /Max-Age=600/);
  t.notOk(flowCookie.includes(authorize.searchParams.get('state')!), 'the cookie carries a key, not the state');

  const { browser, landed } = await f.signIn();
  t.equal(landed.href, RETURN_TO, 'back at return_to, with no error');
  t.notOk(browser.cookie(new URL(f.tessera).host, FLOW_COOKIE), 'the flow cookie is cleared');
  const refreshed = await f.refresh(browser);
  t.equal(refreshed.status, 200, 'the SPA refreshes as on every page load');
  t.same(refreshed.claims!.amr, ['fed']);
  t.equal(refreshed.claims!.idp, 'local');
  const mine = await me(f.app, refreshed.body.access_token as string);
  t.equal(mine.json().email, email);
  const again = await f.refresh(browser);
  t.equal(again.status, 200, 'and keeps refreshing');
  t.same(again.claims!.amr, ['fed'], 'a refreshed token still says how the session started');

  const user = await f.db.database.prisma.user.findUniqueOrThrow({ where: { email } });
  t.equal(user.passwordHash, null, 'no password');
  const identities = await f.db.database.prisma.identity.findMany({ where: { userId: user.id } });
  t.match(identities, [{ provider: 'local', subject: f.idp.next.sub }]);
  t.match(await audits(f, 'register'), [{ userId: user.id, reason: 'idp=local' }]);
  t.equal((await audits(f, 'federated_login')).length, 1);

  const second = await f.signIn();
  t.equal(errorOf(second.landed), null);
  const claims = (await f.refresh(second.browser)).claims!;
  t.equal(claims.sub, user.id, 'the next sign-in finds the same user by (provider, subject)');
});

t.test('a password login says amr pwd; an account without a password refuses every password alike', async (t) => {
  const f = await federationFixture(t);
  const reg = await register(f.app);
  const { accessToken } = await login(f.app, reg.email);
  t.same(decodeJwt(accessToken).amr, ['pwd']);
  t.notOk(decodeJwt(accessToken).idp);

  const email = uniqueEmail();
  f.idp.next = account(email);
  await f.signIn();
  const res = await f.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'any password at all' } });
  t.equal(res.statusCode, 401);
  t.equal(res.json().code, 'invalid_credentials', 'the same answer as a wrong password');
  t.match(await audits(f, 'login_failed'), [{ reason: 'no_password' }]);

  const discovery = (await f.app.inject({ url: '/.well-known/openid-configuration' })).json();
  t.ok(discovery.claims_supported.includes('amr') && discovery.claims_supported.includes('idp'), 'discovery names amr and idp');
});

t.test('GET /auth/providers lists id, name and start URL, never a secret', async (t) => {
  const f = await federationFixture(t);
  const res = await f.app.inject({ url: '/auth/providers' });
  t.equal(res.statusCode, 200);
  t.same(res.json().providers.map((p: { id: string }) => p.id), ['local', 'trusted', 'down']);
  t.same(res.json().providers[0], { id: 'local', name: 'Local provider', type: 'oidc', start_url: `${f.tessera}/auth/oauth/local/start` });
  t.notOk(res.body.includes('test-client-secret'));
});

t.test('a return_to off the allow-list, or an unknown provider, is refused with JSON: no open redirect', async (t) => {
  const f = await federationFixture(t);
  for (const bad of ['https://evil.example/after', '//evil.example/x', 'http://spa.test.evil.example/', 'javascript:alert(1)', 'http://user@spa.test/', '/relative']) {
    const res = await f.app.inject({ url: `/auth/oauth/local/start?return_to=${encodeURIComponent(bad)}` });
    t.equal(res.statusCode, 400, bad);
    t.equal(res.json().code, 'return_to_invalid', bad);
    t.notOk(res.headers.location);
  }
  t.equal((await f.app.inject({ url: '/auth/oauth/local/start' })).json().code, 'return_to_invalid', 'missing');
  const unknown = await f.app.inject({ url: `/auth/oauth/nope/start?return_to=${encodeURIComponent(RETURN_TO)}` });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().code, 'not_found');
});

t.test('the user pressing cancel at the provider comes back with error=oauth_access_denied', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = 'deny';
  const { landed } = await f.signIn();
  t.equal(landed.origin + landed.pathname, RETURN_TO);
  t.equal(errorOf(landed), 'oauth_access_denied');
  t.equal(await f.db.database.prisma.session.count(), 0);
  t.match(await audits(f, 'federated_login_refused'), [{ reason: 'idp=local oauth_access_denied' }]);
});

t.test('a forged state, or a callback without the flow cookie, is refused as oauth_state_invalid', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const forged = await f.toCallback();
  forged.callback.searchParams.set('state', 'a-state-the-attacker-made-up');
  t.equal(errorOf(await f.finish(forged.browser, forged.callback)), 'oauth_state_invalid');

  const stranger = await f.toCallback();
  // The callback URL alone, in another browser (login CSRF): no flow cookie, so nothing to complete.
  const landed = await f.finish(new TestBrowser(), stranger.callback);
  t.equal(landed.origin, SPA, 'sent to the first allowed origin');
  t.equal(errorOf(landed), 'oauth_state_invalid');
  const forgedCookie = new TestBrowser();
  forgedCookie.jar.set(new URL(f.tessera).host, new Map([[FLOW_COOKIE, 'forged-key']]));
  t.equal(errorOf(await f.finish(forgedCookie, stranger.callback)), 'oauth_state_invalid', 'a made-up cookie finds no flow');
  t.equal(await f.db.database.prisma.session.count(), 0);
});

t.test('a callback replayed after success, or its code used again in a new flow, starts no second session', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const { browser, callback } = await f.toCallback();
  const key = browser.cookie(new URL(f.tessera).host, FLOW_COOKIE)!;
  t.equal(errorOf(await f.finish(browser, callback)), null);
  t.equal(await f.db.database.prisma.session.count(), 1);

  const replay = new TestBrowser();
  replay.jar.set(new URL(f.tessera).host, new Map([[FLOW_COOKIE, key]]));
  t.equal(errorOf(await f.finish(replay, callback)), 'oauth_state_invalid', 'the flow was used up');

  const fresh = await f.toCallback();
  fresh.callback.searchParams.set('code', callback.searchParams.get('code')!);
  t.equal(errorOf(await f.finish(fresh.browser, fresh.callback)), 'oauth_code_rejected', 'the provider refuses a code used twice');
  t.equal(await f.db.database.prisma.session.count(), 1);
});

t.test('a code injected into another browser\'s flow fails the PKCE check at the provider', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const victim = await f.toCallback(); // the victim's code, never delivered
  const attacker = await f.toCallback();
  attacker.callback.searchParams.set('code', victim.callback.searchParams.get('code')!);
  t.equal(errorOf(await f.finish(attacker.browser, attacker.callback)), 'oauth_code_rejected');
  t.equal(await f.db.database.prisma.session.count(), 0);
});

t.test('an ID token whose nonce is not this flow\'s is refused', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const { browser, callback } = await f.toCallback();
  await f.db.database.prisma.oAuthFlow.updateMany({ data: { nonce: 'another-flows-nonce' } });
  t.equal(errorOf(await f.finish(browser, callback)), 'oauth_response_invalid');

  f.idp.tamper = (claims) => ({ ...claims, nonce: 'replayed-nonce' });
  const tampered = await f.toCallback();
  t.equal(errorOf(await f.finish(tampered.browser, tampered.callback)), 'oauth_response_invalid', 'nor one re-signed with another nonce');
  t.equal(await f.db.database.prisma.session.count(), 0);
});

t.test('an ID token from another issuer or for another audience is refused, though signed with the provider\'s key', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  for (const [what, change] of [
    ['issuer', (c: Record<string, unknown>) => ({ ...c, iss: 'http://127.0.0.1:1/another-issuer' })],
    ['audience', (c: Record<string, unknown>) => ({ ...c, aud: 'another-client' })],
    ['expiry', (c: Record<string, unknown>) => ({ ...c, exp: Math.floor(Date.now() / 1000) - 3600 })],
  ] as const) {
    f.idp.tamper = change;
    const { browser, callback } = await f.toCallback();
    t.equal(errorOf(await f.finish(browser, callback)), 'oauth_response_invalid', what);
  }
  f.idp.tamper = (c) => c;
  const control = await f.toCallback();
  t.equal(errorOf(await f.finish(control.browser, control.callback)), null, 'positive control: re-signed unchanged, it passes');
});

t.test('mix-up: a callback whose RFC 9207 iss names another issuer is refused', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const { browser, callback } = await f.toCallback();
  t.equal(callback.searchParams.get('iss'), f.idp.issuer, 'the provider sends iss');
  callback.searchParams.set('iss', 'https://attacker.example');
  t.equal(errorOf(await f.finish(browser, callback)), 'oauth_response_invalid');
  const missing = await f.toCallback();
  missing.callback.searchParams.delete('iss');
  t.equal(errorOf(await f.finish(missing.browser, missing.callback)), 'oauth_response_invalid', 'nor is a missing one, as the provider announced it');
});

t.test('a provider that cannot be reached sends the user back with oauth_provider_unavailable, not a 500', async (t) => {
  const f = await federationFixture(t);
  const res = await new TestBrowser().get(f.startUrl('down'));
  t.equal(res.status, 302);
  const landed = new URL(res.headers.get('location')!);
  t.equal(landed.origin + landed.pathname, RETURN_TO);
  t.equal(errorOf(landed), 'oauth_provider_unavailable');

  // Up for the authorization, down for the code exchange.
  f.idp.next = account(uniqueEmail());
  const { browser, callback } = await f.toCallback();
  await f.idp.close();
  t.equal(errorOf(await f.finish(browser, callback)), 'oauth_provider_unavailable');
});

t.test('linking by email: only a verified email from a provider trusted for linking joins an existing account', async (t) => {
  const f = await federationFixture(t);
  const reg = await register(f.app);
  const prisma = f.db.database.prisma;

  f.idp.next = account(reg.email, true);
  const untrusted = await f.signIn('local');
  t.equal(errorOf(untrusted.landed), 'account_link_required', 'an untrusted provider never links by email');
  t.equal(await prisma.identity.count(), 0);

  f.idp.next = account(reg.email, false);
  t.equal(errorOf((await f.signIn('trusted')).landed), 'oauth_email_unverified', 'a trusted provider without email_verified does not either');
  f.idp.next = account(uniqueEmail(), false);
  t.equal(errorOf((await f.signIn('local')).landed), 'oauth_email_unverified', 'no new account on an unverified email');
  t.equal(await prisma.user.count(), 1);

  f.idp.next = account(reg.email.toUpperCase(), true);
  const trusted = await f.signIn('trusted');
  t.equal(errorOf(trusted.landed), null);
  t.equal((await f.refresh(trusted.browser)).claims!.sub, reg.user.id, 'linked to the existing account');
  t.match(await audits(f, 'identity_linked'), [{ userId: reg.user.id, reason: 'idp=trusted by_verified_email' }]);
  t.equal((await audits(f, 'federated_login_refused')).length, 3);
  t.equal((await login(f.app, reg.email)).res.statusCode, 200, 'the password still works');
});

t.test('50 callbacks at once with one flow cookie: exactly one session starts', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const { browser, callback } = await f.toCallback();
  const cookie = browser.cookieHeader(callback);
  const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(callback, { redirect: 'manual', headers: { cookie } })));
  const errors = answers.map((r) => new URL(r.headers.get('location')!).searchParams.get('error'));
  t.equal(errors.filter((e) => e === null).length, 1, 'one success');
  t.equal(errors.filter((e) => e === 'oauth_state_invalid').length, 49, 'the rest find the flow used');
  t.equal(await f.db.database.prisma.session.count(), 1);
});

t.test('50 first sign-ins of one new identity at once make one user and one identity', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const flows = [];
  for (let i = 0; i < 50; i++) flows.push(await f.toCallback());
  const landed = await Promise.all(flows.map(({ browser, callback }) => f.finish(browser, callback)));
  t.same(landed.map(errorOf).filter((e) => e !== null), [], 'every sign-in succeeds');
  t.equal(await f.db.database.prisma.user.count(), 1);
  t.equal(await f.db.database.prisma.identity.count(), 1);
  t.equal(await f.db.database.prisma.session.count(), 50);
});

t.test('no client secret, code, state, nonce, flow key or refresh token reaches the logs, on success or failure', async (t) => {
  const f = await federationFixture(t, { captureLogs: true, env: { LOG_LEVEL: 'trace' } });
  f.idp.next = account(uniqueEmail());
  const secrets: string[] = [];
  const ok = await f.toCallback();
  const authorize = new URL((await new TestBrowser().get(f.startUrl())).headers.get('location')!);
  secrets.push(authorize.searchParams.get('nonce')!, authorize.searchParams.get('code_challenge')!);
  secrets.push(ok.callback.searchParams.get('code')!, ok.callback.searchParams.get('state')!, ok.browser.cookie(new URL(f.tessera).host, FLOW_COOKIE)!);
  await f.finish(ok.browser, ok.callback);
  secrets.push(ok.browser.cookie(new URL(f.tessera).host, '__Host-tessera_refresh')!);
  const replay = await f.toCallback();
  replay.callback.searchParams.set('code', ok.callback.searchParams.get('code')!);
  t.equal(errorOf(await f.finish(replay.browser, replay.callback)), 'oauth_code_rejected');
  f.idp.tamper = (c) => ({ ...c, aud: 'someone-else' });
  const bad = await f.toCallback();
  secrets.push(bad.callback.searchParams.get('code')!);
  t.equal(errorOf(await f.finish(bad.browser, bad.callback)), 'oauth_response_invalid');
  const logs = f.rawLogs.join('\n');
  t.ok(logs.includes('federated_login'), 'positive control: the sign-in is logged');
  t.ok(logs.includes('oauth_code_rejected'), 'and the failure, by code');
  for (const secret of [IDP_CLIENT.secret, ...secrets]) t.notOk(logs.includes(secret), `not in the logs: ${secret.slice(0, 6)}…`);
});
