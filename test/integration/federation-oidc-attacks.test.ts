// Sign in with an OpenID Connect provider, the attacks and failures: forged and replayed state, PKCE,
// nonce, issuer and audience, RFC 9207 mix-up, a provider that is down, and 50 callbacks at once. Against
// a real provider (oidc-provider on loopback, test/federation-idp.ts), every redirect followed over HTTP.
import t from 'tap';
import { federationFixture, RETURN_TO, SPA } from '../federation-fixture.js';
import { TestBrowser } from '../federation-idp.js';
import { FLOW_COOKIE } from '../../src/http/oauth-flow-cookie.js';
import { uniqueEmail } from '../helper.js';

const errorOf = (url: URL) => url.searchParams.get('error');
let subjects = 0;
const account = (email: string, verified = true) => ({
  sub: `subject-${++subjects}-${Date.now()}`,
  email,
  email_verified: verified,
});

t.test('a forged state, or a callback without the flow cookie, is refused as oauth_state_invalid', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const forged = await f.toCallback();
  forged.callback.searchParams.set('state', 'a-state-the-attacker-made-up');
  t.equal(
    errorOf(await f.finish(forged.browser, forged.callback)),
    'oauth_state_invalid',
    'a callback with a made-up state is refused',
  );

  const stranger = await f.toCallback();
  // The callback URL alone, in another browser (login CSRF): no flow cookie, so nothing to complete.
  const landed = await f.finish(new TestBrowser(), stranger.callback);
  t.equal(landed.origin, SPA, 'sent to the first allowed origin');
  t.equal(errorOf(landed), 'oauth_state_invalid', 'the callback URL alone, without the flow cookie, is refused');
  const forgedCookie = new TestBrowser();
  forgedCookie.jar.set(new URL(f.tessera).host, new Map([[FLOW_COOKIE, 'forged-key']]));
  t.equal(
    errorOf(await f.finish(forgedCookie, stranger.callback)),
    'oauth_state_invalid',
    'a made-up cookie finds no flow',
  );
  t.equal(await f.db.database.prisma.session.count(), 0, 'no forged callback started a session');
});

t.test(
  'a callback replayed after success, or its code used again in a new flow, starts no second session',
  async (t) => {
    const f = await federationFixture(t);
    f.idp.next = account(uniqueEmail());
    const { browser, callback } = await f.toCallback();
    const key = browser.cookie(new URL(f.tessera).host, FLOW_COOKIE)!;
    t.equal(errorOf(await f.finish(browser, callback)), null, 'the genuine callback succeeds');
    t.equal(await f.db.database.prisma.session.count(), 1, 'the genuine callback starts one session');

    const replay = new TestBrowser();
    replay.jar.set(new URL(f.tessera).host, new Map([[FLOW_COOKIE, key]]));
    t.equal(errorOf(await f.finish(replay, callback)), 'oauth_state_invalid', 'the flow was used up');

    const fresh = await f.toCallback();
    fresh.callback.searchParams.set('code', callback.searchParams.get('code')!);
    t.equal(
      errorOf(await f.finish(fresh.browser, fresh.callback)),
      'oauth_code_rejected',
      'the provider refuses a code used twice',
    );
    t.equal(
      await f.db.database.prisma.session.count(),
      1,
      'neither the replay nor the reused code started a second session',
    );
  },
);

t.test("a code injected into another browser's flow fails the PKCE check at the provider", async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const victim = await f.toCallback(); // the victim's code, never delivered
  const attacker = await f.toCallback();
  attacker.callback.searchParams.set('code', victim.callback.searchParams.get('code')!);
  t.equal(
    errorOf(await f.finish(attacker.browser, attacker.callback)),
    'oauth_code_rejected',
    'the injected code is refused by the provider',
  );
  t.equal(await f.db.database.prisma.session.count(), 0, 'the injected code started no session');
});

t.test("an ID token whose nonce is not this flow's is refused", async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const { browser, callback } = await f.toCallback();
  await f.db.database.prisma.oAuthFlow.updateMany({ data: { nonce: 'another-flows-nonce' } });
  t.equal(
    errorOf(await f.finish(browser, callback)),
    'oauth_response_invalid',
    "an ID token carrying another flow's nonce is refused",
  );

  f.idp.tamper = (claims) => ({ ...claims, nonce: 'replayed-nonce' });
  const tampered = await f.toCallback();
  t.equal(
    errorOf(await f.finish(tampered.browser, tampered.callback)),
    'oauth_response_invalid',
    'nor one re-signed with another nonce',
  );
  t.equal(await f.db.database.prisma.session.count(), 0, 'no session started with a wrong nonce');
});

t.test(
  "an ID token from another issuer or for another audience is refused, though signed with the provider's key",
  async (t) => {
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
    t.equal(
      errorOf(await f.finish(control.browser, control.callback)),
      null,
      'positive control: re-signed unchanged, it passes',
    );
  },
);

t.test(
  'a provider at its default configuration sends the email by UserInfo: it signs in, and a UserInfo for another sub is refused',
  async (t) => {
    const f = await federationFixture(t);
    const email = uniqueEmail();
    f.idp.next = account(email);
    let idToken: Record<string, unknown> = {};
    f.idp.tamper = (c) => {
      idToken = c;
      return c;
    };
    const signedIn = await f.signIn('trusted');
    t.equal(errorOf(signedIn.landed), null, 'the sign-in succeeds');
    t.equal(idToken.email, undefined, "the provider's ID token carried no email (OIDC Core §5.4)");
    t.equal(
      await f.db.database.prisma.user.count({ where: { email, emailVerifiedAt: { not: null } } }),
      1,
      "the account has UserInfo's verified email",
    );

    f.idp.next = account(uniqueEmail());
    f.idp.tamper = (c) => ({ ...c, sub: 'someone-else' });
    const { browser, callback } = await f.toCallback('trusted');
    t.equal(
      errorOf(await f.finish(browser, callback)),
      'oauth_response_invalid',
      "UserInfo about another user than the ID token's is refused",
    );
    t.equal(await f.db.database.prisma.user.count(), 1, 'and makes no account');
  },
);

t.test('mix-up: a callback whose RFC 9207 iss names another issuer is refused', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const { browser, callback } = await f.toCallback();
  t.equal(callback.searchParams.get('iss'), f.idp.issuer, 'the provider sends iss');
  callback.searchParams.set('iss', 'https://attacker.example');
  t.equal(
    errorOf(await f.finish(browser, callback)),
    'oauth_response_invalid',
    'a callback naming another issuer in iss is refused',
  );
  const missing = await f.toCallback();
  missing.callback.searchParams.delete('iss');
  t.equal(
    errorOf(await f.finish(missing.browser, missing.callback)),
    'oauth_response_invalid',
    'nor is a missing one, as the provider announced it',
  );
});

t.test(
  'a provider that cannot be reached sends the user back with oauth_provider_unavailable, not a 500',
  async (t) => {
    const f = await federationFixture(t);
    const res = await new TestBrowser().get(f.startUrl('down'));
    t.equal(res.status, 302, 'an unreachable provider answers the start with a redirect, not a 500');
    const landed = new URL(res.headers.get('location')!);
    t.equal(landed.origin + landed.pathname, RETURN_TO, 'the user is sent back to the return_to page');
    t.equal(errorOf(landed), 'oauth_provider_unavailable', 'the redirect says the provider is unavailable');

    // Up for the authorization, down for the code exchange.
    f.idp.next = account(uniqueEmail());
    const { browser, callback } = await f.toCallback();
    await f.idp.close();
    t.equal(
      errorOf(await f.finish(browser, callback)),
      'oauth_provider_unavailable',
      'a provider down at the code exchange is reported as unavailable',
    );
  },
);

t.test('50 callbacks at once with one flow cookie: exactly one session starts', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const { browser, callback } = await f.toCallback();
  const cookie = browser.cookieHeader(callback);
  const answers = await Promise.all(
    Array.from({ length: 50 }, () => fetch(callback, { redirect: 'manual', headers: { cookie } })),
  );
  const errors = answers.map((r) => new URL(r.headers.get('location')!).searchParams.get('error'));
  t.equal(errors.filter((e) => e === null).length, 1, 'one success');
  t.equal(errors.filter((e) => e === 'oauth_state_invalid').length, 49, 'the rest find the flow used');
  t.equal(await f.db.database.prisma.session.count(), 1, 'the 49 late callbacks started no session');
});

t.test('50 first sign-ins of one new identity at once make one user and one identity', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = account(uniqueEmail());
  const flows = [];
  for (let i = 0; i < 50; i++) flows.push(await f.toCallback());
  const landed = await Promise.all(flows.map(({ browser, callback }) => f.finish(browser, callback)));
  t.same(
    landed.map(errorOf).filter((e) => e !== null),
    [],
    'every sign-in succeeds',
  );
  t.equal(await f.db.database.prisma.user.count(), 1, 'the 50 concurrent first sign-ins make one user');
  t.equal(await f.db.database.prisma.identity.count(), 1, 'the 50 concurrent first sign-ins make one identity');
  t.equal(await f.db.database.prisma.session.count(), 50, 'each of the 50 sign-ins has its own session');
});
