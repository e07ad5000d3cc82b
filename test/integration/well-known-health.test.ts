// Discovery, JWKS caching and health endpoints.
import t from 'tap';
import { buildTestApp, createTestDatabase } from '../helper.js';

t.test('JWKS caching headers and ETag', async (t) => {
  const { app } = await buildTestApp(t, { env: { JWKS_MAX_AGE_SECONDS: '600' } });
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  t.equal(res.statusCode, 200, 'the JWKS is served');
  t.equal(res.headers['cache-control'], 'public, max-age=600', 'verifiers may cache the JWKS for JWKS_MAX_AGE_SECONDS');
  const etag = res.headers.etag as string;
  t.match(etag, /^"[\w-]+"$/, 'the JWKS carries a strong ETag');
  const again = await app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers: { 'if-none-match': etag } });
  t.equal(again.statusCode, 304, 'a verifier holding the current ETag gets 304');
  t.equal(again.body, '', 'the 304 has no body');
  const other = await app.inject({
    method: 'GET',
    url: '/.well-known/jwks.json',
    headers: { 'if-none-match': '"stale"' },
  });
  t.equal(other.statusCode, 200, 'a stale ETag gets the full JWKS');
});

t.test('discovery document', async (t) => {
  const { app } = await buildTestApp(t, { env: { ISSUER: 'https://auth.example.com/' } });
  const res = await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  t.equal(res.statusCode, 200, 'the discovery document is served');
  const doc = res.json();
  t.equal(doc.issuer, 'https://auth.example.com', 'trailing slash dropped, as in the iss claim');
  t.equal(
    doc.jwks_uri,
    'https://auth.example.com/.well-known/jwks.json',
    'discovery points to the JWKS under the issuer',
  );
  t.equal(doc.login_endpoint, 'https://auth.example.com/auth/login', 'discovery points to the login endpoint');
  t.equal(doc.refresh_endpoint, 'https://auth.example.com/auth/refresh', 'discovery points to the refresh endpoint');
  t.equal(doc.logout_endpoint, 'https://auth.example.com/auth/logout', 'discovery points to the logout endpoint');
  t.equal(
    doc.userinfo_endpoint,
    'https://auth.example.com/oauth/userinfo',
    'discovery points to the OIDC userinfo endpoint',
  );
  t.same(doc.id_token_signing_alg_values_supported, ['RS256'], 'discovery announces RS256 for id tokens');
  t.same(doc.access_token_signing_alg_values_supported, ['RS256'], 'discovery announces RS256 for access tokens');
  t.match(res.headers['cache-control'], /^public, max-age=\d+$/, 'the discovery document may be cached publicly');
  // What openid-client and oauth4webapi read to build an authorization request (RFC 8414, RFC 9207, RFC 7636).
  const as = (await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json();
  for (const [name, d] of [
    ['OpenID', doc],
    ['RFC 8414', as],
  ] as const) {
    t.equal(
      d.authorization_endpoint,
      'https://auth.example.com/oauth/authorize',
      `${name}: the authorization endpoint`,
    );
    t.same(d.response_types_supported, ['code'], `${name}: only the code flow`);
    t.same(d.code_challenge_methods_supported, ['S256'], `${name}: PKCE S256 only, never plain`);
    t.equal(d.authorization_response_iss_parameter_supported, true, `${name}: iss in the authorization response`);
  }
});

t.test('health', async (t) => {
  const db = await createTestDatabase();
  const { app } = await buildTestApp(t, { db });
  const live = await app.inject({ method: 'GET', url: '/health/live' });
  t.equal(live.statusCode, 200, 'the liveness probe answers 200');
  t.same(live.json(), { status: 'ok' }, 'the liveness probe reports ok');
  const ready = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(ready.statusCode, 200, 'the readiness probe answers 200 with the database up');
  t.same(ready.json(), { status: 'ok' }, 'the readiness probe reports ok');

  t.test('ready answers 503 with a code when the database is gone; live stays up', async (t) => {
    const restore = await db.outage();
    t.teardown(async () => {
      if (restore) await restore();
      await db.close();
    });
    const res = await app.inject({ method: 'GET', url: '/health/ready' });
    t.equal(res.statusCode, 503, 'readiness answers 503 with the database down');
    t.equal(res.json().code, 'service_unavailable', 'readiness with the database down answers service_unavailable');
    t.notMatch(res.body, /pglite|prisma|postgres|closed|stack/i, 'nothing internal in the body');
    t.equal(
      (await app.inject({ method: 'GET', url: '/health/live' })).statusCode,
      200,
      'liveness still answers 200 with the database down',
    );
  });

  t.test('a login with the database down is a 503, not a 500', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'a@example.com', password: '12345678' },
    });
    t.equal(res.statusCode, 503, 'a login with the database down answers 503');
    t.equal(res.json().code, 'service_unavailable', 'a login with the database down answers service_unavailable');
  });
});
