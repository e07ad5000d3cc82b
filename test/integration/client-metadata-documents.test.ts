// Client ID Metadata Documents over HTTP against a real https fixture (test/client-document-server.ts): off by
// default; when on, discovery says so, an https client_id is fetched and completes the code flow, its consent
// page marks it unverified with the hosts involved, and every guard of the fetch holds: redirects, size,
// content type, client_id mismatch, secrets, private and loopback addresses, a slow server, the cache and its
// bounds, and 50 authorizations at once for one uncached URL fetching it once.
import t, { type Test } from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp, register, type TestAppOptions } from '../helper.js';
import { Browser, authorizeQuery, exchangeCode, pkce } from '../oauth-server-fixtures.js';
import { startDocumentServer, type DocumentServer } from '../client-document-server.js';
import { secretClient } from '../authz-fixtures.js';

const CALLBACK = 'http://127.0.0.1/callback';
const ON = { CLIENT_ID_METADATA_DOCUMENTS: 'true', CLIENT_ID_METADATA_DOCUMENT_SCOPES: 'openid email offline_access' };

function documentOf(clientId: string, extra: Record<string, unknown> = {}) {
  return { client_id: clientId, client_name: 'Notes Agent', redirect_uris: [CALLBACK], ...extra };
}

async function setup(t: Test, opts: TestAppOptions = {}) {
  const fixture = await startDocumentServer(t);
  const built = await buildTestApp(t, {
    env: ON,
    documentFetch: { allowLoopback: true, ca: fixture.ca },
    ...opts,
  });
  return { ...built, fixture };
}

/** Serves a good document at path and returns its URL. */
function serve(fixture: DocumentServer, path: string, extra: Record<string, unknown> = {}, headers = {}) {
  const url = `${fixture.origin}${path}`;
  fixture.json(path, documentOf(url, extra), headers);
  return url;
}

/** A document client's request pushed at /oauth/par: the /oauth/authorize path that carries its request_uri. */
async function pushed(app: Awaited<ReturnType<typeof buildTestApp>>['app'], clientId: string) {
  const { challenge } = pkce();
  const res = await app.inject({
    method: 'POST',
    url: '/oauth/par',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: authorizeQuery(clientId, challenge),
  });
  if (res.statusCode !== 201) throw new Error(`push refused: ${res.statusCode} ${res.body}`);
  return `/oauth/authorize?${new URLSearchParams({ client_id: clientId, request_uri: res.json().request_uri })}`;
}

function startAuthorization(browser: Browser, clientId: string) {
  const { challenge } = pkce();
  return browser.get(`/oauth/authorize?${authorizeQuery(clientId, challenge)}`);
}

t.test('metadata documents are off by default: an https client_id is an unknown client, never fetched', async (t) => {
  const fixture = await startDocumentServer(t);
  const { app } = await buildTestApp(t, { documentFetch: { allowLoopback: true, ca: fixture.ca } });
  const url = serve(fixture, '/client.json');
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.notOk('client_id_metadata_document_supported' in meta, 'discovery does not offer them');
  const page = await startAuthorization(new Browser(app), url);
  t.equal(page.statusCode, 400, 'the request is refused on Tessera’s own page');
  t.match(page.body, /data-code="authorization_request_invalid"/, 'as an unknown client');
  t.equal(fixture.hits.get('/client.json') ?? 0, 0, 'Tessera fetched nothing');
});

t.test('a client named by its document signs a user in, marked unverified on the consent page', async (t) => {
  const { app, config, fixture } = await setup(t);
  const url = serve(fixture, '/client.json');
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.equal(meta.client_id_metadata_document_supported, true, 'discovery says an https client_id is accepted');
  const openid = (await app.inject({ url: '/.well-known/openid-configuration' })).json();
  t.equal(openid.client_id_metadata_document_supported, true, 'and so does the OpenID configuration');

  const user = await register(app);
  const browser = new Browser(app);
  const { verifier, challenge } = pkce();
  const redirectUri = 'http://127.0.0.1:53123/callback';
  let page = await browser.get(`/oauth/authorize?${authorizeQuery(url, challenge, { redirect_uri: redirectUri })}`);
  t.match(page.body, /\/oauth\/authorize\/login/, 'the user is asked to sign in');
  page = await browser.signIn(page, user.email);
  t.match(page.body, /data-unverified="true"/, 'the consent page marks the application unverified');
  t.match(page.body, /Notes Agent/, 'with the name its document gives');
  t.match(
    page.body,
    new RegExp(`<p class="client-id" data-client-id>${url.replace(/[.:/]/g, (c) => `\\${c}`)}</p>`),
    'and the full client_id URL it named itself by, path included',
  );
  t.match(
    page.body,
    /<strong id="unverified-heading">Unverified application\.<\/strong>/,
    'said in words, not colour alone',
  );
  t.match(page.body, /sent back to http:\/\/127\.0\.0\.1:53123 /, 'and where the user will be sent back');
  page = await browser.consent(page);
  t.equal(page.statusCode, 303, 'allowing redirects with a code');
  const code = new URL(page.headers.location as string).searchParams.get('code')!;
  const tokens = await exchangeCode(app, url, code, verifier, redirectUri);
  t.equal(tokens.statusCode, 200, 'the code is redeemed by the client naming itself by its URL');
  const access = decodeJwt(tokens.json().access_token);
  t.equal(access.client_id, url, 'the access token names the URL as its client');
  t.same([access.aud].flat(), [config.audience].flat(), 'for Tessera’s audience, no resource being asked');
  t.equal(fixture.hits.get('/client.json'), 1, 'the document was fetched once for the whole flow (then cached)');

  // Its consent is never remembered: another port on loopback (any local program) gets no code silently.
  const again = pkce();
  const silent = await browser.get(
    `/oauth/authorize?${authorizeQuery(url, again.challenge, { redirect_uri: 'http://127.0.0.1:53999/callback', prompt: 'none' })}`,
  );
  t.equal(
    new URL(silent.headers.location as string).searchParams.get('error'),
    'consent_required',
    'prompt=none is answered consent_required, though the user consented a moment ago',
  );
  const asked = await browser.get(
    `/oauth/authorize?${authorizeQuery(url, again.challenge, { redirect_uri: redirectUri })}`,
  );
  t.match(asked.body, /data-unverified="true"/, 'and a second authorization shows the consent page again');

  const audit = await app.services.database.prisma.auditEvent.findMany({ where: { type: 'oauth_client_registered' } });
  t.ok(
    audit.some((a) => a.reason?.includes(url)),
    'the first fetch is audited as a registration',
  );
});

t.test('every guard of the fetch refuses the client with its own error page and stores nothing', async (t) => {
  const { app, fixture } = await setup(t, {});
  const big = 'x'.repeat(6 * 1024);
  const cases: [string, (path: string) => string][] = [
    [
      'a redirect',
      (path) => {
        serve(fixture, '/elsewhere.json');
        fixture.on(path, (_req, res) => res.writeHead(302, { location: `${fixture.origin}/elsewhere.json` }).end());
        return `${fixture.origin}${path}`;
      },
    ],
    ['a document over 5 KiB', (path) => serve(fixture, path, { client_name: big })],
    [
      'a body over 5 KiB without a length',
      (path) => {
        fixture.on(path, (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(`{"client_id":"${fixture.origin}${path}","x":"`);
          res.end(`${big}"}`);
        });
        return `${fixture.origin}${path}`;
      },
    ],
    [
      'a wrong content type',
      (path) => {
        const url = `${fixture.origin}${path}`;
        fixture.on(path, (_req, res) =>
          res.writeHead(200, { 'content-type': 'text/html' }).end(JSON.stringify(documentOf(url))),
        );
        return url;
      },
    ],
    [
      'a document naming another client_id',
      (path) => {
        fixture.json(path, documentOf(`${fixture.origin}/other.json`));
        return `${fixture.origin}${path}`;
      },
    ],
    ['a document holding a client_secret', (path) => serve(fixture, path, { client_secret: 's3cret' })],
    [
      'a secret authentication method',
      (path) => serve(fixture, path, { token_endpoint_auth_method: 'client_secret_basic' }),
    ],
    [
      'a jwks_uri to fetch',
      (path) =>
        serve(fixture, path, { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://x.example/jwks' }),
    ],
    ['a private-use redirect scheme', (path) => serve(fixture, path, { redirect_uris: ['com.example.app:/cb'] })],
    [
      'a non-JSON body',
      (path) => {
        fixture.on(path, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{not json'));
        return `${fixture.origin}${path}`;
      },
    ],
    [
      'a server error',
      (path) => {
        fixture.on(path, (_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{}'));
        return `${fixture.origin}${path}`;
      },
    ],
    ['a private address', () => 'https://10.1.2.3/client.json'],
    ['a link-local address', () => 'https://169.254.169.254/latest/meta-data.json'],
    ['an IPv6 unique-local address', () => 'https://[fd00::1]/client.json'],
    ['a URL with dot segments', (path) => `${fixture.origin}/a/..${path}`],
    ['a URL with a query', (path) => `${serve(fixture, path)}?v=1`],
  ];
  let n = 0;
  for (const [name, make] of cases) {
    const url = make(`/case-${n++}.json`);
    const page = await startAuthorization(new Browser(app), url);
    t.equal(page.statusCode, 400, `${name}: refused`);
    const code = /data-code="([a-z_]+)"/.exec(page.body)?.[1];
    t.ok(
      code === 'client_metadata_document_refused' || (name === 'a URL with dot segments' && code),
      `${name}: on Tessera's own page with a catalog code (${code})`,
    );
    t.notOk(page.headers.location, `${name}: never redirected anywhere`);
    const stored = await app.services.database.prisma.oAuthClient.findUnique({ where: { id: url } });
    t.equal(stored, null, `${name}: no client is stored`);
  }
  t.equal(fixture.hits.get('/elsewhere.json') ?? 0, 0, 'the redirect was not followed');
});

t.test('a loopback document is refused unless a test allows loopback', async (t) => {
  const fixture = await startDocumentServer(t);
  const { app } = await buildTestApp(t, { env: ON, documentFetch: { ca: fixture.ca } });
  const url = serve(fixture, '/client.json');
  const page = await startAuthorization(new Browser(app), url);
  t.match(page.body, /data-code="client_metadata_document_refused"/, '127.0.0.1 is not a public address');
  t.equal(fixture.hits.get('/client.json') ?? 0, 0, 'no connection was made');
  const viaName = await startAuthorization(new Browser(app), url.replace('127.0.0.1', 'localhost'));
  t.match(viaName.body, /data-code="client_metadata_document_refused"/, 'nor a name that resolves to it');
  t.equal(fixture.hits.get('/client.json') ?? 0, 0, 'still no connection');
});

t.test('a server slower than the limit is given up on', async (t) => {
  const fixture = await startDocumentServer(t);
  const { app: quick } = await buildTestApp(t, {
    env: ON,
    documentFetch: { allowLoopback: true, ca: fixture.ca, timeoutMs: 300 },
  });
  const url = `${fixture.origin}/slow.json`;
  fixture.on('/slow.json', (_req, res) => {
    const timer = setTimeout(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(documentOf(url))),
      3000,
    );
    res.on('close', () => clearTimeout(timer));
  });
  const started = Date.now();
  const page = await startAuthorization(new Browser(quick), url);
  t.match(page.body, /data-code="client_metadata_document_refused"/, 'the slow document is refused');
  t.ok(Date.now() - started < 2500, 'without waiting for the server');
});

t.test('50 authorizations at once for one uncached URL fetch its document once', async (t) => {
  const { app, fixture } = await setup(t);
  const url = `${fixture.origin}/busy.json`;
  fixture.on('/busy.json', (_req, res) => {
    // Slow enough that all 50 arrive while the first fetch is in flight.
    setTimeout(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(documentOf(url))),
      200,
    );
  });
  const pages = await Promise.all(Array.from({ length: 50 }, () => startAuthorization(new Browser(app), url)));
  t.ok(
    pages.every((p) => p.statusCode === 200 && p.body.includes('/oauth/authorize/login')),
    'all 50 reach the sign-in page',
  );
  t.equal(fixture.hits.get('/busy.json'), 1, 'the document was fetched once');
});

t.test('the document is cached by its Cache-Control within the configured bounds', async (t) => {
  const { app, clock, fixture } = await setup(t, {
    env: {
      ...ON,
      CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS: '60',
      CLIENT_ID_METADATA_DOCUMENT_CACHE_MAX_SECONDS: '3600',
    },
  });
  const browser = new Browser(app);
  const timed = serve(fixture, '/timed.json', {}, { 'cache-control': 'public, max-age=600' });
  await startAuthorization(browser, timed);
  clock.advance(599);
  await startAuthorization(browser, timed);
  t.equal(fixture.hits.get('/timed.json'), 1, 'within max-age the stored copy is used');
  clock.advance(2);
  await startAuthorization(browser, timed);
  t.equal(fixture.hits.get('/timed.json'), 2, 'after max-age it is fetched again');

  const forever = serve(fixture, '/forever.json', {}, { 'cache-control': 'max-age=31536000' });
  await startAuthorization(browser, forever);
  clock.advance(3601);
  await startAuthorization(browser, forever);
  t.equal(fixture.hits.get('/forever.json'), 2, 'a year is cut to the maximum');

  const never = serve(fixture, '/never.json', {}, { 'cache-control': 'no-store' });
  await startAuthorization(browser, never);
  await startAuthorization(browser, never);
  t.equal(
    fixture.hits.get('/never.json'),
    1,
    'no-store is raised to the minimum, so a busy client is not fetched per request',
  );
  clock.advance(61);
  await startAuthorization(browser, never);
  t.equal(fixture.hits.get('/never.json'), 2, 'and fetched again after it');
});

t.test('a changed document replaces the metadata, and an admin’s disable outlives every re-fetch', async (t) => {
  const { app, clock, fixture } = await setup(t);
  const url = serve(fixture, '/client.json');
  const browser = new Browser(app);
  await startAuthorization(browser, url);
  fixture.json('/client.json', documentOf(url, { client_name: 'Renamed Agent' }));
  clock.advance(86401);
  await startAuthorization(browser, url);
  const stored = await app.services.oauthClients.get(url);
  t.equal(stored?.name, 'Renamed Agent', 'the new document is what Tessera uses');
  await app.services.oauthClients.setDisabled(url, true, { kind: 'cli' }, { ip: '', requestId: 't' });
  clock.advance(86401);
  const page = await startAuthorization(browser, url);
  t.match(page.body, /data-code="authorization_request_invalid"/, 'a disabled document client is refused');
  t.equal(fixture.hits.get('/client.json'), 3, 'even though its document was fetched again');
});

t.test(
  'a document that cannot be fetched at the moment spends neither a pushed request_uri nor a UI challenge',
  async (t) => {
    const uiCaller = secretClient('login-app', 'scope=authorization_ui');
    const { app, clock, fixture } = await setup(t, {
      env: {
        ...ON,
        CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS: '0',
        CLIENT_ID_METADATA_DOCUMENT_FAILURE_SECONDS: '5',
        SERVICE_CLIENTS: uiCaller.entry,
        LOGIN_UI_URL: 'https://login.example.com/login',
      },
    });
    const { user } = await register(app);
    const url = serve(fixture, '/short.json', {}, { 'cache-control': 'max-age=10' });
    const failing = () =>
      fixture.on('/short.json', (_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{}'));
    const refusedPage = (p: { statusCode: number; body: string }) =>
      p.statusCode === 400 && p.body.includes('data-code="client_metadata_document_refused"');

    // A pushed request: the copy fetched at the push is stale when the browser arrives, and the host fails then.
    const byUri = await pushed(app, url);
    clock.advance(11);
    failing();
    const browser = new Browser(app);
    t.ok(refusedPage(await browser.get(byUri)), 'while the host fails, the document is refused');
    serve(fixture, '/short.json', {}, { 'cache-control': 'max-age=10' });
    clock.advance(6);
    const retried = await browser.get(byUri);
    t.equal(retried.statusCode, 303, 'once it is back, the same request_uri goes on (to the login UI)');
    t.match(String(retried.headers.location), /^https:\/\/login\.example\.com\/login\?login_challenge=/);
    t.notOk(retried.body.includes('invalid_request_uri'), 'the failed attempt did not spend the request_uri');

    // An external UI's challenge: decided, then the browser comes back when the copy is stale and the host fails.
    const uiChallenge = new URL(String(retried.headers.location)).searchParams.get('login_challenge')!;
    const accepted = await app.inject({
      method: 'POST',
      url: `/oauth/ui/requests/${uiChallenge}/accept`,
      headers: { authorization: `Basic ${Buffer.from(`${uiCaller.id}:${uiCaller.secret}`).toString('base64')}` },
      payload: { subject: user.id, amr: ['pwd'] },
    });
    t.equal(accepted.statusCode, 200, 'the login UI accepts');
    const back = new URL(accepted.json().redirect_to);
    clock.advance(11);
    failing();
    t.ok(refusedPage(await browser.get(`${back.pathname}${back.search}`)), 'the return meets the failing host');
    serve(fixture, '/short.json', {}, { 'cache-control': 'max-age=10' });
    clock.advance(6);
    const resumed = await browser.get(`${back.pathname}${back.search}`);
    t.equal(resumed.statusCode, 200, 'once it is back, the same return completes the challenge');
    t.ok(resumed.body.includes('name="decision"'), 'and the consent page a document client always gets follows');
  },
);

t.test('with no cache at all, an arrival by request_uri fetches the document once and uses that copy', async (t) => {
  const { app, fixture } = await setup(t, { env: { ...ON, CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS: '0' } });
  const url = serve(fixture, '/uncached.json', {}, { 'cache-control': 'no-store' });
  const page = await new Browser(app).get(await pushed(app, url)); // pushed: one fetch
  t.equal(page.statusCode, 200, 'the sign-in page');
  t.equal(fixture.hits.get('/uncached.json'), 2, 'one more fetch for the arrival, checked before the claim and after');
});
