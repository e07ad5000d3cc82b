// The external login and consent UI (LOGIN_UI_URL / CONSENT_UI_URL): openid-client completes the flow at its
// default settings while a small login app on loopback plays the deployment's pages (reading the request and
// accepting it through /oauth/ui as a service client with authorization_ui), and a second authorization in the
// same browser skips both pages. The attacks: an unknown, expired or reused challenge; a caller without the
// scope; a challenge completed from another browser; 20 accepts at the same instant (exactly one is recorded).
import { BROWSER_SESSION_COOKIE } from '../../src/http/password-sign-in.js';
import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import { ManualClock, PASSWORD, buildTestApp, expectError, register, type TestApp } from '../helper.js';
import { freePort } from '../free-port.js';
import { secretClient, type SecretClient } from '../authz-fixtures.js';
import {
  Browser,
  FetchBrowser,
  SystemClock,
  authorizeQuery,
  pkce,
  redirectParams,
  registerClient,
} from '../oauth-server-fixtures.js';

const UI = 'https://login.example.com';
const basic = (c: SecretClient) => `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;
const isPage = (body: string, code: string) => body.includes(`data-code="${code}"`);

async function setup(t: Test) {
  const ui = secretClient('login-app', 'scope=authorization_ui');
  const other = secretClient('reporting', 'scope=introspect');
  const clock = new ManualClock(new Date());
  const built = await buildTestApp(t, {
    clock,
    env: {
      SERVICE_CLIENTS: `${ui.entry},${other.entry}`,
      LOGIN_UI_URL: `${UI}/login`,
      CONSENT_UI_URL: `${UI}/consent`,
    },
  });
  const { client } = await registerClient(built.app);
  const { user } = await register(built.app);
  return { ...built, clock, ui, other, client, user };
}

/** The browser goes to /oauth/authorize and is sent to the UI: the challenge it carries. */
async function challengeOf(page: Awaited<ReturnType<Browser['get']>>, kind: 'login' | 'consent') {
  const location = new URL(String(page.headers.location));
  if (`${location.origin}${location.pathname}` !== `${UI}/${kind}`) throw new Error(`not sent to ${kind}: ${location}`);
  return location.searchParams.get(`${kind}_challenge`)!;
}

function ui(app: TestApp, caller: SecretClient | null, path: string, body?: Record<string, unknown>) {
  return app.inject({
    method: body ? 'POST' : 'GET',
    url: `/oauth/ui/requests/${path}`,
    headers: caller ? { authorization: basic(caller) } : {},
    ...(body ? { payload: body } : {}),
  });
}
const resumePath = (redirectTo: string) => {
  const u = new URL(redirectTo);
  return `${u.pathname}${u.search}`;
};

t.test(
  'openid-client completes the flow through a login app on loopback, and the second time skips both pages',
  async (t) => {
    const uiCaller = secretClient('login-app', 'scope=authorization_ui');
    const tesseraPort = await freePort();
    const uiPort = await freePort();
    const issuer = `http://127.0.0.1:${tesseraPort}`;
    const built = await buildTestApp(t, {
      clock: new SystemClock(),
      env: {
        ISSUER: issuer,
        SERVICE_CLIENTS: uiCaller.entry,
        LOGIN_UI_URL: `http://127.0.0.1:${uiPort}/login`,
        CONSENT_UI_URL: `http://127.0.0.1:${uiPort}/consent`,
      },
    });
    const { app } = built;
    await app.listen({ port: tesseraPort, host: '127.0.0.1' });
    const { client } = await registerClient(app, { client_name: 'Notes for Desktop' });
    const { user } = await register(app);

    // The login app: its backend reads the request, "authenticates" its user, accepts, and sends the browser back.
    const seen: Record<string, unknown>[] = [];
    const call = async (path: string, body?: unknown) => {
      const res = await fetch(`${issuer}/oauth/ui/requests/${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: basic(uiCaller), ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${uiPort}`);
      const login = url.searchParams.get('login_challenge');
      const consent = url.searchParams.get('consent_challenge');
      const challenge = (login ?? consent)!;
      void (async () => {
        const pending = await call(challenge);
        seen.push(pending);
        const decided = login
          ? await call(`${challenge}/accept`, { subject: user.id, amr: ['pwd', 'otp', 'mfa'], remember: true })
          : await call(`${challenge}/accept`, { remember: true });
        res.writeHead(303, { location: String(decided.redirect_to) }).end();
      })().catch((err: Error) => res.writeHead(500).end(err.message));
    });
    await new Promise<void>((resolve) => server.listen(uiPort, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const config = await oidc.discovery(new URL(issuer), client.id, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const browser = new FetchBrowser(issuer);
    /** Follows redirects through Tessera and the login app until the client's redirect URI. */
    const follow = async (start: URL) => {
      let url = start.href;
      for (let hop = 0; hop < 10; hop++) {
        const res = await browser.go(url);
        if (res.status !== 303) throw new Error(`stopped at ${url}: ${res.status} ${(await res.text()).slice(0, 200)}`);
        url = res.headers.get('location')!;
        if (url.startsWith('http://127.0.0.1:53123/callback')) return new URL(url);
      }
      throw new Error('too many redirects');
    };
    const authorize = async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: 'http://127.0.0.1:53123/callback',
        scope: 'openid email offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      const callback = await follow(url);
      return oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
    };

    const tokens = await authorize();
    const claims = tokens.claims()!;
    t.equal(claims.sub, user.id, 'the ID token names the user the login app vouched for');
    t.same(claims.amr, ['pwd', 'otp', 'mfa'], 'the ID token says how the login app authenticated the user');
    t.ok(tokens.refresh_token, 'offline_access gave a refresh token');
    t.same(
      seen.map((s) => s.kind),
      ['login', 'consent'],
      'the login app was asked to sign the user in, then to consent',
    );
    t.match(
      seen[1],
      {
        client_name: 'Notes for Desktop',
        redirect_host: '127.0.0.1:53123',
        scopes: ['openid', 'email', 'offline_access'],
      },
      'the consent step names the client, the redirect host and the scopes',
    );
    t.equal(seen[0]!.signed_in, null, 'the first login step says nobody is signed in at Tessera yet');

    const again = await authorize();
    t.equal(again.claims()!.sub, user.id, 'the second authorization is for the same user');
    t.equal(seen.length, 2, 'the second authorization skipped the login app entirely (session and consent remembered)');
  },
);

t.test('a rejected login sends the client access_denied with iss and state', async (t) => {
  const { app, ui: caller, client, config } = await setup(t);
  const browser = new Browser(app);
  const page = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`);
  const challenge = await challengeOf(page, 'login');
  const rejected = await ui(app, caller, `${challenge}/reject`, { error_description: 'the user cancelled' });
  t.equal(rejected.statusCode, 200, 'the rejection is recorded');
  const back = await browser.get(resumePath(rejected.json().redirect_to));
  const params = redirectParams(back);
  t.equal(params.get('error'), 'access_denied', 'the client gets access_denied');
  t.equal(params.get('iss'), config.issuer, 'with iss (RFC 9207)');
  t.equal(params.get('state'), 'st-1', 'and its state');
});

t.test('an unknown, expired or already decided challenge is refused in the RFC 6749 shape', async (t) => {
  const { app, ui: caller, client, user, clock } = await setup(t);
  expectError(t, await ui(app, caller, 'A'.repeat(43)), 'authorization_challenge_invalid', 'an unknown challenge');
  const unknown = await ui(app, caller, `${'B'.repeat(43)}/accept`, { remember: true });
  t.equal(unknown.json().error, 'invalid_request', 'the error is in the RFC 6749 shape');

  const browser = new Browser(app);
  const first = await challengeOf(
    await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`),
    'login',
  );
  clock.advance(601);
  expectError(
    t,
    await ui(app, caller, `${first}/accept`, { subject: user.id, amr: ['pwd'] }),
    'authorization_challenge_invalid',
    'a challenge older than 10 minutes',
  );

  const second = await challengeOf(
    await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`),
    'login',
  );
  const accepted = await ui(app, caller, `${second}/accept`, { subject: user.id, amr: ['pwd'] });
  t.equal(accepted.statusCode, 200, 'the first accept is recorded');
  expectError(
    t,
    await ui(app, caller, `${second}/reject`, {}),
    'authorization_challenge_invalid',
    'a decided challenge cannot be decided again',
  );
  const resume = resumePath(accepted.json().redirect_to);
  const consentStep = await browser.get(resume);
  t.ok(await challengeOf(consentStep, 'consent'), 'the completed login goes on to the consent step');
  const replay = await browser.get(resume);
  t.ok(
    replay.statusCode === 400 && isPage(replay.body, 'authorization_challenge_invalid'),
    'a completed challenge cannot be completed again',
  );
});

t.test('only a service client holding authorization_ui reads or decides a challenge', async (t) => {
  const { app, ui: caller, other, client, user } = await setup(t);
  const browser = new Browser(app);
  const challenge = await challengeOf(
    await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`),
    'login',
  );
  expectError(t, await ui(app, null, challenge), 'invalid_client', 'no client credentials');
  expectError(t, await ui(app, { ...caller, secret: 'wrong' }, challenge), 'invalid_client', 'a wrong secret');
  expectError(
    t,
    await ui(app, other, `${challenge}/accept`, { subject: user.id, amr: ['pwd'] }),
    'insufficient_scope',
    'a service client without authorization_ui',
  );
  const publicCaller = await app.inject({
    method: 'POST',
    url: `/oauth/ui/requests/${challenge}/accept`,
    payload: { client_id: client.id, subject: user.id, amr: ['pwd'] },
  });
  expectError(t, publicCaller, 'insufficient_scope', 'a public OAuth client naming itself');
  const pending = await ui(app, caller, challenge);
  t.equal(pending.statusCode, 200, 'the challenge is still pending after every refused attempt');
  t.equal(pending.json().kind, 'login', 'and it is a login step');
});

t.test('a challenge completes only in the browser it was opened for', async (t) => {
  const { app, ui: caller, client, user } = await setup(t);
  const browser = new Browser(app);
  const challenge = await challengeOf(
    await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`),
    'login',
  );
  const accepted = await ui(app, caller, `${challenge}/accept`, { subject: user.id, amr: ['pwd'], remember: true });
  const resume = resumePath(accepted.json().redirect_to);
  const attacker = new Browser(app);
  await attacker.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`);
  const stolen = await attacker.get(resume);
  t.ok(
    stolen.statusCode === 400 && isPage(stolen.body, 'authorization_challenge_invalid'),
    "another browser (with a flow cookie of its own) cannot complete the victim's challenge",
  );
  t.equal(stolen.headers.location, undefined, 'and is sent nowhere');
  const own = await browser.get(resume);
  t.ok(await challengeOf(own, 'consent'), 'the browser it was opened for still completes it');
});

t.test('whoever opened a challenge cannot complete a decision the UI made for someone else', async (t) => {
  const { app, ui: caller, client, user } = await setup(t);
  // The attacker opens the request in their own browser: they learn the challenge and hold its flow cookie.
  const attacker = new Browser(app);
  const challenge = await challengeOf(
    await attacker.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`),
    'login',
  );
  // They hand the UI's link to the victim, who signs in there: the UI accepts the challenge for the victim.
  const accepted = await ui(app, caller, `${challenge}/accept`, { subject: user.id, amr: ['pwd'], remember: true });
  t.equal(accepted.statusCode, 200, 'the UI records its decision');
  const tries = [
    `/oauth/authorize/resume?${new URLSearchParams({ challenge })}`,
    `/oauth/authorize/resume?${new URLSearchParams({ challenge, verifier: 'A'.repeat(43) })}`,
  ];
  for (const path of tries) {
    const res = await attacker.get(path);
    t.ok(
      res.statusCode === 400 && isPage(res.body, 'authorization_challenge_invalid'),
      `the opening browser without the decision's verifier gets the error page (${path.includes('verifier') ? 'a guessed verifier' : 'no verifier'})`,
    );
    t.equal(res.headers.location, undefined, 'and no code, nor a redirect anywhere');
  }
  t.notOk(
    attacker.cookies.has(BROWSER_SESSION_COOKIE),
    'and no Tessera browser session for the victim in the attacker’s browser',
  );
  const honest = await attacker.get(resumePath(accepted.json().redirect_to));
  t.equal(honest.statusCode, 303, 'the way back the UI hands out, with its verifier, completes it');
});

t.test('with the deployment’s own pages, the built-in sign-in and consent pages take no posts', async (t) => {
  const { app, client, user } = await setup(t);
  const csrf = 'C'.repeat(43);
  const fields = Object.fromEntries(new URLSearchParams(authorizeQuery(client.id, pkce().challenge)));
  // A script that sets its own CSRF cookie and posts the password straight to Tessera: it would skip whatever
  // the deployment's page enforces (its captcha, its second factor, who may use which app).
  for (const [path, extra] of [
    ['/oauth/authorize/login', { email: user.email, password: PASSWORD }],
    ['/oauth/authorize/mfa', { mfa_token: 'x', code: '123456' }],
    ['/oauth/authorize/consent', { decision: 'allow' }],
  ] as const) {
    const res = await app.inject({
      method: 'POST',
      url: path,
      cookies: { '__Host-tessera_csrf': csrf },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ ...fields, csrf, ...extra }).toString(),
    });
    t.ok(
      res.statusCode === 404 && isPage(res.body, 'authorization_page_disabled'),
      `${path} answers the error page authorization_page_disabled (${res.statusCode})`,
    );
    t.equal(res.headers.location, undefined, `${path} sends the browser nowhere`);
    t.notOk(
      res.cookies.some((c) => c.name === BROWSER_SESSION_COOKIE),
      `${path} opens no Tessera browser session`,
    );
  }
});

t.test('prompt=login and max_age are asked once: login, then consent, then the code', async (t) => {
  const { app, clock, ui: caller, client, user } = await setup(t);
  const browser = new Browser(app);
  for (const extra of [{ prompt: 'login consent' }, { max_age: '0' }] as Record<string, string>[]) {
    const login = await challengeOf(
      await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge, extra)}`),
      'login',
    );
    const loggedIn = await ui(app, caller, `${login}/accept`, { subject: user.id, amr: ['pwd'], remember: true });
    const consent = await challengeOf(await browser.get(resumePath(loggedIn.json().redirect_to)), 'consent');
    clock.advance(20); // the user reads the consent page for a while
    const consented = await ui(app, caller, `${consent}/accept`, {});
    const back = await browser.get(resumePath(consented.json().redirect_to));
    t.equal(back.statusCode, 303, `${JSON.stringify(extra)}: coming back from consent finishes`);
    const location = new URL(String(back.headers.location));
    t.ok(
      location.href.startsWith('http://127.0.0.1:53123/callback') && location.searchParams.get('code'),
      `${JSON.stringify(extra)}: with a code at the client, not the login page again`,
    );
  }
});

t.test('of 20 accepts of one challenge at the same instant exactly one is recorded', async (t) => {
  const { app, ui: caller, client, user } = await setup(t);
  const browser = new Browser(app);
  const challenge = await challengeOf(
    await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`),
    'login',
  );
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => ui(app, caller, `${challenge}/accept`, { subject: user.id, amr: ['pwd'] })),
  );
  t.equal(answers.filter((r) => r.statusCode === 200).length, 1, 'exactly one accept wins');
  t.ok(
    answers.filter((r) => r.statusCode !== 200).every((r) => r.json().code === 'authorization_challenge_invalid'),
    'every other accept is refused as already decided',
  );
  const completions = await Promise.all(
    Array.from({ length: 20 }, () =>
      browser.get(resumePath(answers.find((r) => r.statusCode === 200)!.json().redirect_to)),
    ),
  );
  t.equal(
    completions.filter((r) => r.statusCode === 303).length,
    1,
    'of 20 returns of the browser at once exactly one completes the challenge',
  );
});
