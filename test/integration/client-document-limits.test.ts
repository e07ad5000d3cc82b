// How much fetching anyone can make Tessera do by naming Client ID Metadata Document URLs at /oauth/authorize,
// against the real https fixture (test/client-document-server.ts) and a DNS fixture (test/dns-server.ts):
// fetches are limited per requesting address and per target host, 50 at once and across two instances on one
// database; concurrent requests for one URL are one fetch; a refused document is remembered for a while and not
// fetched per request; names are resolved by c-ares (the DNS fixture, which the system resolver never asks),
// each address checked and the connection pinned to it; and document clients nobody uses are purged.
import t, { type Test } from 'tap';
import { buildTestApp, ManualClock, register, type TestAppOptions } from '../helper.js';
import { authorizeCode, authorizeQuery, exchangeCode, pkce } from '../oauth-server-fixtures.js';
import { DOCUMENT_HOST, startDocumentServer, type DocumentServer } from '../client-document-server.js';
import { startDnsServer } from '../dns-server.js';

const CALLBACK = 'http://127.0.0.1/callback';
const ON = { CLIENT_ID_METADATA_DOCUMENTS: 'true', CLIENT_ID_METADATA_DOCUMENT_SCOPES: 'openid email offline_access' };

async function setup(t: Test, env: Record<string, string> = {}, opts: TestAppOptions = {}) {
  const fixture = await startDocumentServer(t);
  const built = await buildTestApp(t, {
    env: { ...ON, ...env },
    documentFetch: { allowLoopback: true, ca: fixture.ca },
    ...opts,
  });
  return { ...built, fixture };
}

/** Serves a good document at path on the fixture and returns its URL (at `origin`, the fixture's by default). */
function serve(fixture: DocumentServer, path: string, origin = fixture.origin) {
  const url = `${origin}${path}`;
  fixture.json(path, { client_id: url, client_name: 'Notes Agent', redirect_uris: [CALLBACK] });
  return url;
}

/** GET /oauth/authorize naming `clientId`, from `ip`. */
function authorize(app: Awaited<ReturnType<typeof buildTestApp>>['app'], clientId: string, ip = '203.0.113.7') {
  const { challenge } = pkce();
  return app.inject({ url: `/oauth/authorize?${authorizeQuery(clientId, challenge)}`, remoteAddress: ip });
}

const signInPage = (p: { statusCode: number; body: string }) =>
  p.statusCode === 200 && p.body.includes('/oauth/authorize/login');
const codeOf = (p: { body: string }) => /data-code="([a-z_]+)"/.exec(p.body)?.[1];
const totalHits = (fixture: DocumentServer) => [...fixture.hits.values()].reduce((a, b) => a + b, 0);

t.test('50 authorizations at once from one address naming 50 URLs: exactly the address limit is fetched', async (t) => {
  const { app, clock, fixture } = await setup(t, {
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_ADDRESS: '10',
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_HOST: '0',
  });
  const urls = Array.from({ length: 50 }, (_, i) => serve(fixture, `/many-${i}.json`));
  const pages = await Promise.all(urls.map((url) => authorize(app, url)));
  t.equal(pages.filter(signInPage).length, 10, 'ten clients reach the sign-in page');
  const limited = pages.filter((p) => p.statusCode === 429);
  t.equal(limited.length, 40, 'the other forty are refused as too many');
  t.ok(
    limited.every((p) => codeOf(p) === 'too_many_requests' && Number(p.headers['retry-after']) > 0),
    'on Tessera’s page with too_many_requests and a Retry-After',
  );
  t.equal(totalHits(fixture), 10, 'Tessera made ten fetches, no more');
  const other = await authorize(app, serve(fixture, '/other-address.json'), '198.51.100.9');
  t.ok(signInPage(other), 'another address still names a new client');
  t.ok(signInPage(await authorize(app, urls[0]!)), 'a client already fetched is served from its copy, not limited');
  clock.advance(601);
  t.ok(signInPage(await authorize(app, urls[49]!)), 'the address may fetch again in the next window');
});

t.test('50 token requests at once from one address naming 50 URLs: the address limit holds there too', async (t) => {
  const { app, fixture } = await setup(t, {
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_ADDRESS: '10',
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_HOST: '0',
  });
  const urls = Array.from({ length: 50 }, (_, i) => serve(fixture, `/token-${i}.json`));
  // Every endpoint that authenticates a client looks the client_id up: each URL named there is a fetch to count.
  const answers = await Promise.all(
    urls.map((url, i) =>
      app.inject({
        method: 'POST',
        url: i % 2 ? '/oauth/token' : '/oauth/par',
        remoteAddress: '203.0.113.8',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ client_id: url, grant_type: 'authorization_code', code: 'x' }).toString(),
      }),
    ),
  );
  t.equal(totalHits(fixture), 10, 'Tessera made ten fetches for one address, no more');
  t.ok(
    answers.every((a) => a.statusCode >= 400 && a.statusCode < 500),
    'every request is answered with a client error, none with a 5xx',
  );
});

t.test('50 authorizations at once from 50 addresses naming one host: exactly the host limit is fetched', async (t) => {
  const dns = await startDnsServer(t);
  const fixture = await startDocumentServer(t);
  const { app } = await buildTestApp(t, {
    env: {
      ...ON,
      CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_ADDRESS: '0',
      CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_HOST: '10',
    },
    documentFetch: { allowLoopback: true, ca: fixture.ca, dnsServers: [dns.address] },
  });
  dns.set(DOCUMENT_HOST, ['127.0.0.1']);
  const pages = await Promise.all(
    Array.from({ length: 50 }, (_, i) => authorize(app, serve(fixture, `/host-${i}.json`), `203.0.113.${i + 1}`)),
  );
  t.equal(pages.filter(signInPage).length, 10, 'ten clients of the host reach the sign-in page');
  t.equal(pages.filter((p) => p.statusCode === 429).length, 40, 'the other forty are too_many_requests');
  t.equal(totalHits(fixture), 10, 'the host was fetched ten times, whoever asked');
  const port = new URL(fixture.origin).port;
  const elsewhere = await authorize(app, serve(fixture, '/named.json', `https://${DOCUMENT_HOST}:${port}`));
  t.ok(signInPage(elsewhere), 'another host is still fetched');
});

t.test('two instances on one database share the limits: 50 fetches split between them', async (t) => {
  const clock = new ManualClock(new Date());
  const env = {
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_ADDRESS: '10',
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_HOST: '0',
  };
  const first = await setup(t, env, { clock });
  const second = await buildTestApp(t, {
    env: { ...ON, ...env },
    documentFetch: { allowLoopback: true, ca: first.fixture.ca },
    clock,
    db: first.db,
  });
  const urls = Array.from({ length: 50 }, (_, i) => serve(first.fixture, `/split-${i}.json`));
  const pages = await Promise.all(urls.map((url, i) => authorize(i % 2 ? second.app : first.app, url)));
  t.equal(pages.filter(signInPage).length, 10, 'ten fetches in all, not ten per instance');
  t.equal(totalHits(first.fixture), 10, 'the fixture was asked ten times');
});

t.test('50 authorizations at once for one URL are one fetch, counted once against the limits', async (t) => {
  const { app, fixture } = await setup(t, {
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_ADDRESS: '1',
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_HOST: '1',
  });
  const url = `${fixture.origin}/shared.json`;
  fixture.on('/shared.json', (_req, res) => {
    // Slow enough that all 50 arrive while the first fetch is in flight.
    setTimeout(
      () =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ client_id: url, redirect_uris: [CALLBACK] })),
      200,
    );
  });
  const pages = await Promise.all(Array.from({ length: 50 }, () => authorize(app, url)));
  t.ok(pages.every(signInPage), 'all 50 reach the sign-in page');
  t.equal(fixture.hits.get('/shared.json'), 1, 'the document was fetched once');
});

t.test(
  'a refused document is remembered for the failure time: 50 requests at once and after are not fetches',
  async (t) => {
    const { app, clock, fixture } = await setup(t, { CLIENT_ID_METADATA_DOCUMENT_FAILURE_SECONDS: '60' });
    const url = `${fixture.origin}/broken.json`;
    fixture.on('/broken.json', (_req, res) => {
      setTimeout(() => res.writeHead(500, { 'content-type': 'application/json' }).end('{}'), 100);
    });
    const burst = await Promise.all(Array.from({ length: 50 }, () => authorize(app, url)));
    t.ok(
      burst.every((p) => p.statusCode === 400 && codeOf(p) === 'client_metadata_document_refused'),
      'all 50 are refused on Tessera’s page',
    );
    t.equal(fixture.hits.get('/broken.json'), 1, 'with one fetch');
    clock.advance(30);
    const again = await authorize(app, url);
    t.equal(codeOf(again), 'client_metadata_document_refused', 'a request within the minute is refused too');
    t.equal(fixture.hits.get('/broken.json'), 1, 'from memory, without fetching');
    serve(fixture, '/broken.json');
    clock.advance(31);
    t.ok(signInPage(await authorize(app, url)), 'after the failure time the mended document is fetched and used');
    t.equal(fixture.hits.get('/broken.json'), 2, 'with a second fetch');

    const invalid = `${fixture.origin}/invalid.json`;
    fixture.json('/invalid.json', { client_id: invalid, redirect_uris: [CALLBACK], client_secret: 'x' });
    await authorize(app, invalid);
    await authorize(app, invalid);
    t.equal(fixture.hits.get('/invalid.json'), 1, 'a document refused for its content is remembered as well');
  },
);

t.test('a name is resolved by c-ares, every address checked, and the connection pinned to it', async (t) => {
  const dns = await startDnsServer(t);
  const fixture = await startDocumentServer(t);
  const port = new URL(fixture.origin).port;
  const at = (host: string, path: string) => serve(fixture, path, `https://${host}:${port}`);
  const fetch = { ca: fixture.ca, dnsServers: [dns.address], dnsTimeoutMs: 200 };
  const { app: strict } = await buildTestApp(t, { env: ON, documentFetch: fetch });
  const { app: loopbackAllowed } = await buildTestApp(t, {
    env: ON,
    documentFetch: { ...fetch, allowLoopback: true },
  });

  dns.set(DOCUMENT_HOST, ['127.0.0.1']);
  const named = at(DOCUMENT_HOST, '/named.json');
  t.ok(
    signInPage(await authorize(loopbackAllowed, named)),
    'a name only the DNS fixture knows is resolved and fetched',
  );
  t.ok((dns.queries.get(DOCUMENT_HOST) ?? 0) >= 1, 'by asking the configured DNS server, not the system resolver');
  t.equal(fixture.hits.get('/named.json'), 1, 'and the connection went to the address it answered');

  const refused = await authorize(strict, at(DOCUMENT_HOST, '/strict.json'));
  t.equal(codeOf(refused), 'client_metadata_document_refused', 'a name resolving to loopback is refused');
  t.equal(fixture.hits.get('/strict.json') ?? 0, 0, 'without a connection');

  dns.set('mixed.test', ['127.0.0.1', '10.0.0.1', '::1']);
  const mixed = await authorize(loopbackAllowed, at('mixed.test', '/mixed.json'));
  t.equal(codeOf(mixed), 'client_metadata_document_refused', 'one private address among the answers refuses the name');
  t.equal(fixture.hits.get('/mixed.json') ?? 0, 0, 'and nothing was fetched');

  dns.silence('silent.test');
  const started = Date.now();
  const silent = await authorize(loopbackAllowed, at('silent.test', '/silent.json'));
  t.equal(codeOf(silent), 'client_metadata_document_refused', 'a DNS server that never answers refuses the client');
  t.ok(Date.now() - started < 4000, 'after the DNS timeout, not the whole fetch limit');

  const unknown = await authorize(loopbackAllowed, at('nowhere.test', '/nowhere.json'));
  t.equal(codeOf(unknown), 'client_metadata_document_refused', 'a name that does not exist refuses the client');
});

t.test(
  'a document client with no live grant is deleted after the TTL; one in use and one disabled are kept',
  async (t) => {
    const days = (n: number) => n * 86_400;
    const long = String(days(60));
    const { app, clock, fixture } = await setup(t, {
      CLIENT_ID_METADATA_DOCUMENT_TTL_DAYS: '30',
      CLIENT_ID_METADATA_DOCUMENT_CACHE_MAX_SECONDS: String(days(7)),
      REFRESH_TOKEN_TTL_SECONDS: long,
      SESSION_MAX_AGE_SECONDS: long,
      SESSION_IDLE_SECONDS: long,
    });
    const abandoned = serve(fixture, '/abandoned.json');
    const used = serve(fixture, '/used.json');
    const disabled = serve(fixture, '/disabled.json');
    await authorize(app, abandoned);
    await authorize(app, disabled);
    const user = await register(app);
    const { code, verifier } = await authorizeCode(app, used, user.email, { scope: 'openid offline_access' });
    t.equal((await exchangeCode(app, used, code, verifier)).statusCode, 200, 'one client gets a long-lived grant');
    const meta = { ip: '', requestId: 't' };
    await app.services.oauthClients.setDisabled(disabled, true, { kind: 'cli' }, meta);
    clock.advance(days(2));
    const recent = serve(fixture, '/recent.json');
    await authorize(app, recent);
    clock.advance(days(29));
    const documents = app.services.clientDocuments!;
    const [first, second] = await Promise.all([documents.purge(), documents.purge()]);
    t.equal(first + second, 1, 'one client is purged, once, by two purges at once');
    const { oauthClients, database } = app.services;
    t.equal(await oauthClients.get(abandoned), null, 'the client unused for 31 days is gone');
    t.equal(
      await database.prisma.clientMetadataDocument.findUnique({ where: { clientId: abandoned } }),
      null,
      'with its cached document',
    );
    t.ok(await oauthClients.get(used), 'the client holding a live grant is kept');
    t.ok((await oauthClients.get(disabled))?.disabledAt, 'the disabled client is kept, so its disable holds');
    t.ok(await oauthClients.get(recent), 'the client fetched 29 days ago is kept');
    t.ok(signInPage(await authorize(app, abandoned)), 'the purged URL is fetched anew when it is named again');
  },
);
