// RFC 7591 dynamic client registration at /oauth/register over HTTP: off unless DYNAMIC_REGISTRATION=true,
// public clients with https or loopback redirect URIs only, scopes within DYNAMIC_REGISTRATION_SCOPES, errors in
// RFC 7591's shape, a per-address limit that holds under 50 registrations at once, and the purge of clients
// that hold no live grant after the TTL.
import t from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp, expectError, register, type TestApp } from '../helper.js';
import { authorizeCode, exchangeCode } from '../oauth-server-fixtures.js';

const MCP = 'https://mcp.example.com/mcp';
const ON = {
  DYNAMIC_REGISTRATION: 'true',
  DYNAMIC_REGISTRATION_SCOPES: 'openid offline_access notes:read notes:write',
  RESOURCES: MCP,
};
const CALLBACK = 'http://127.0.0.1/callback';

function registration(app: TestApp, body: Record<string, unknown>, ip = '203.0.113.7') {
  return app.inject({ method: 'POST', url: '/oauth/register', payload: body, remoteAddress: ip });
}

t.test('registration is off by default and discovery does not offer it', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await registration(app, { redirect_uris: [CALLBACK] });
  expectError(t, res, 'not_found', 'no registration endpoint unless an operator turns it on');
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.notOk('registration_endpoint' in meta, 'discovery names no registration_endpoint');
});

t.test('an unknown app registers a public client and signs a user in for a registered resource', async (t) => {
  const { app, config } = await buildTestApp(t, { env: ON });
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.equal(meta.registration_endpoint, `${config.issuer}/oauth/register`, 'discovery names the endpoint');
  const res = await registration(app, {
    client_name: 'Agent',
    redirect_uris: [CALLBACK],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    scope: 'notes:read',
    logo_uri: 'https://agent.example/logo.png',
  });
  t.equal(res.statusCode, 201, 'the client is registered');
  t.equal(res.headers['cache-control'], 'no-store', 'the answer is not cached');
  const body = res.json();
  t.match(body, { client_name: 'Agent', token_endpoint_auth_method: 'none', redirect_uris: [CALLBACK] }, 'as asked');
  t.notOk('client_secret' in body, 'a public client gets no secret');
  t.equal(body.scope, 'openid offline_access notes:read notes:write', 'it may ask for every offered scope');

  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, body.client_id, user.email, {
    scope: 'notes:read offline_access',
    resource: MCP,
  });
  const tokens = await exchangeCode(app, body.client_id, code, verifier);
  t.equal(tokens.statusCode, 200, 'the registered client completes the code flow');
  t.equal(decodeJwt(tokens.json().access_token).aud, MCP, 'for the registered resource');
  t.ok(tokens.json().refresh_token, 'with a refresh token for offline_access');
});

t.test('only the metadata a public client may have is accepted', async (t) => {
  const { app } = await buildTestApp(t, { env: ON });
  const cases: [
    Record<string, unknown>,
    'invalid_client_metadata' | 'invalid_redirect_uri' | 'invalid_request',
    string,
  ][] = [
    [
      { redirect_uris: [CALLBACK], token_endpoint_auth_method: 'client_secret_basic' },
      'invalid_client_metadata',
      'a secret client',
    ],
    [{ redirect_uris: [CALLBACK], first_party: true }, 'invalid_client_metadata', 'first_party (which skips consent)'],
    [{ redirect_uris: [CALLBACK], resources: ['https://x.example'] }, 'invalid_client_metadata', 'its own resources'],
    [{ redirect_uris: [CALLBACK], jwks_uri: 'https://x.example/jwks' }, 'invalid_client_metadata', 'keys'],
    [{ redirect_uris: [CALLBACK], scope: 'admin' }, 'invalid_client_metadata', 'a scope that is not offered'],
    [{ redirect_uris: ['http://app.example/cb'] }, 'invalid_redirect_uri', 'plain http off loopback'],
    [{ redirect_uris: ['com.example.app:/cb'] }, 'invalid_redirect_uri', 'a private-use scheme any app may claim'],
    [{ redirect_uris: ['https://app.example/cb#frag'] }, 'invalid_redirect_uri', 'a fragment'],
    [{ client_name: 'no redirect' }, 'invalid_request', 'no redirect_uris'],
  ];
  for (const [body, code, what] of cases) {
    const res = await registration(app, body);
    expectError(t, res, code, `refused: ${what}`);
    t.equal(res.json().error, code === 'invalid_request' ? 'invalid_request' : code, `${what}: RFC 7591 error member`);
    t.type(res.json().error_description, 'string', `${what}: with an error_description`);
  }
  t.equal(await app.services.database.prisma.oAuthClient.count(), 0, 'nothing refused was stored');
});

t.test('50 registrations at once from one address: exactly the hourly limit is registered', async (t) => {
  const { app } = await buildTestApp(t, { env: { ...ON, DYNAMIC_REGISTRATION_PER_HOUR: '10' } });
  const all = await Promise.all(
    Array.from({ length: 50 }, (_, i) => registration(app, { client_name: `a${i}`, redirect_uris: [CALLBACK] })),
  );
  const codes = all.map((r) => r.statusCode);
  t.equal(codes.filter((c) => c === 201).length, 10, 'ten registrations succeed');
  t.equal(codes.filter((c) => c === 429).length, 40, 'the other forty are too_many_requests');
  expectError(t, all.find((r) => r.statusCode === 429)!, 'too_many_requests', 'the refusal');
  t.equal(await app.services.database.prisma.dynamicRegistration.count(), 10, 'ten clients are stored, no more');
  const other = await registration(app, { redirect_uris: [CALLBACK] }, '198.51.100.9');
  t.equal(other.statusCode, 201, 'another address still registers');
});

t.test('a dynamic client with no live grant is deleted after the TTL; one in use is kept', async (t) => {
  const days = (n: number) => n * 86_400;
  const long = String(days(60));
  const { app, clock } = await buildTestApp(t, {
    env: { ...ON, REFRESH_TOKEN_TTL_SECONDS: long, SESSION_MAX_AGE_SECONDS: long, SESSION_IDLE_SECONDS: long },
  });
  const abandoned = (await registration(app, { redirect_uris: [CALLBACK] })).json().client_id as string;
  const used = (await registration(app, { redirect_uris: [CALLBACK] })).json().client_id as string;
  const user = await register(app);
  const { code, verifier } = await authorizeCode(app, used, user.email, {
    scope: 'openid offline_access',
    resource: MCP,
  });
  t.equal((await exchangeCode(app, used, code, verifier)).statusCode, 200, 'one client gets a long-lived grant');
  clock.advance(days(2));
  const recent = (await registration(app, { redirect_uris: [CALLBACK] })).json().client_id as string;
  clock.advance(days(29));
  // Every instance runs the purge job: two at once delete each abandoned client once.
  const { dynamicRegistrations } = app.services;
  const [first, second] = await Promise.all([dynamicRegistrations.purge(), dynamicRegistrations.purge()]);
  t.equal(first + second, 1, 'one client is purged, once, by two purges at once');
  const { oauthClients } = app.services;
  t.equal(await oauthClients.get(abandoned), null, 'the 31-day-old client without a grant is gone');
  t.ok(await oauthClients.get(used), 'the client holding a live grant is kept');
  t.ok(await oauthClients.get(recent), 'the 29-day-old client is kept');
});
