// Discovery, JWKS caching and health endpoints.
import t from 'tap';
import { buildTestApp, createTestDatabase } from '../helper.js';

t.test('JWKS caching headers and ETag', async (t) => {
  const { app } = await buildTestApp(t, { env: { JWKS_MAX_AGE_SECONDS: '600' } });
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'public, max-age=600');
  const etag = res.headers.etag as string;
  t.match(etag, /^"[\w-]+"$/);
  const again = await app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers: { 'if-none-match': etag } });
  t.equal(again.statusCode, 304);
  t.equal(again.body, '');
  const other = await app.inject({
    method: 'GET',
    url: '/.well-known/jwks.json',
    headers: { 'if-none-match': '"stale"' },
  });
  t.equal(other.statusCode, 200);
});

t.test('discovery document', async (t) => {
  const { app } = await buildTestApp(t, { env: { ISSUER: 'https://auth.example.com/' } });
  const res = await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  t.equal(res.statusCode, 200);
  const doc = res.json();
  t.equal(doc.issuer, 'https://auth.example.com', 'trailing slash dropped, as in the iss claim');
  t.equal(doc.jwks_uri, 'https://auth.example.com/.well-known/jwks.json');
  t.equal(doc.login_endpoint, 'https://auth.example.com/auth/login');
  t.equal(doc.refresh_endpoint, 'https://auth.example.com/auth/refresh');
  t.equal(doc.logout_endpoint, 'https://auth.example.com/auth/logout');
  t.equal(doc.userinfo_endpoint, 'https://auth.example.com/auth/me');
  t.same(doc.id_token_signing_alg_values_supported, ['RS256']);
  t.same(doc.access_token_signing_alg_values_supported, ['RS256']);
  t.match(res.headers['cache-control'], /^public, max-age=\d+$/);
});

t.test('health', async (t) => {
  const db = await createTestDatabase();
  const { app } = await buildTestApp(t, { db });
  const live = await app.inject({ method: 'GET', url: '/health/live' });
  t.equal(live.statusCode, 200);
  t.same(live.json(), { status: 'ok' });
  const ready = await app.inject({ method: 'GET', url: '/health/ready' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ok' });

  t.test('ready answers 503 with a code when the database is gone; live stays up', async (t) => {
    const restore = await db.outage();
    t.teardown(async () => {
      if (restore) await restore();
      await db.close();
    });
    const res = await app.inject({ method: 'GET', url: '/health/ready' });
    t.equal(res.statusCode, 503);
    t.equal(res.json().code, 'service_unavailable');
    t.notMatch(res.body, /pglite|prisma|postgres|closed|stack/i, 'nothing internal in the body');
    t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200);
  });

  t.test('a login with the database down is a 503, not a 500', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'a@example.com', password: '12345678' },
    });
    t.equal(res.statusCode, 503);
    t.equal(res.json().code, 'service_unavailable');
  });
});
