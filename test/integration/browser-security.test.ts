// Browser-facing protection: security headers, CORS for listed origins, CSRF check on cookie endpoints,
// COOKIE_DOMAIN and TRUST_PROXY.
import t from 'tap';
import { buildTestApp, refresh, refreshCookieOf, session, REFRESH_COOKIE, DOMAIN_REFRESH_COOKIE } from '../helper.js';

const SPA = 'https://app.example.com';

t.test('security headers on every response', async (t) => {
  const { app } = await buildTestApp(t);
  for (const url of ['/health/live', '/.well-known/jwks.json', '/auth/me', '/nope']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(
      res.headers['content-security-policy'],
      "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
      url,
    );
    t.match(String(res.headers['strict-transport-security']), /^max-age=15552000; includeSubDomains/, url);
    t.equal(res.headers['x-content-type-options'], 'nosniff', url);
    t.equal(res.headers['referrer-policy'], 'no-referrer', url);
  }
  const { app: noHsts } = await buildTestApp(t, { env: { HSTS_MAX_AGE_SECONDS: '0' } });
  t.equal(
    (await noHsts.inject({ method: 'GET', url: '/health/live' })).headers['strict-transport-security'],
    undefined,
    'HSTS can be turned off',
  );
});

t.test('CORS: credentials only for listed origins', async (t) => {
  const { app } = await buildTestApp(t, { env: { CORS_ORIGINS: `${SPA}, https://admin.example.com` } });
  const preflight = (origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/auth/refresh',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
  const ok = await preflight(SPA);
  t.equal(ok.statusCode, 204, "a listed origin's preflight answers 204");
  t.equal(ok.headers['access-control-allow-origin'], SPA, 'the preflight allows the listed origin');
  t.equal(
    ok.headers['access-control-allow-credentials'],
    'true',
    'the preflight allows credentials for the listed origin',
  );
  t.match(String(ok.headers['access-control-allow-methods']), /POST/, 'the preflight allows POST');
  const evil = await preflight('https://evil.example');
  t.equal(evil.headers['access-control-allow-origin'], undefined, 'an unlisted origin is not allowed');
  t.equal(evil.headers['access-control-allow-credentials'], undefined, 'an unlisted origin gets no credentials');
  const jwks = await app.inject({
    method: 'GET',
    url: '/.well-known/jwks.json',
    headers: { origin: 'https://anyone.example' },
  });
  t.equal(jwks.headers['access-control-allow-origin'], '*', 'public keys are readable from anywhere');
  t.equal(
    jwks.headers['access-control-allow-credentials'],
    undefined,
    'the public JWKS is readable without credentials',
  );
  t.notOk(jwks.headers['access-control-expose-headers'], 'and exposes no API header');
  for (const url of ['/.well-known/jwks.json', '/.well-known/openid-configuration']) {
    const public_ = await app.inject({
      method: 'OPTIONS',
      url,
      headers: { origin: 'https://anyone.example', 'access-control-request-method': 'GET' },
    });
    t.equal(public_.statusCode, 204, `${url}: any origin's preflight answers 204`);
    t.equal(public_.headers['access-control-allow-origin'], '*', `${url}: the preflight allows any origin`);
    t.equal(public_.headers['access-control-allow-methods'], 'GET', `${url}: for GET only`);
    t.equal(public_.headers['access-control-allow-credentials'], undefined, `${url}: without credentials`);
  }
  const admin = await app.inject({
    method: 'OPTIONS',
    url: '/admin/users',
    headers: { origin: SPA, 'access-control-request-method': 'GET' },
  });
  t.equal(admin.statusCode, 404, 'the admin API answers no preflight, even from a listed origin');
  t.equal(admin.headers['access-control-allow-origin'], undefined, 'and grants no origin');
  for (const url of ['/admin', '/admin/no-such-thing']) {
    const other = await app.inject({
      method: 'OPTIONS',
      url,
      headers: { origin: SPA, 'access-control-request-method': 'POST' },
    });
    t.equal(other.headers['access-control-allow-origin'], undefined, `${url}: no grant either`);
  }
  const unknown = await app.inject({ url: '/.well-known/no-such-document', headers: { origin: SPA } });
  t.equal(unknown.statusCode, 404, 'an unknown public document is not found');
  t.equal(unknown.headers['access-control-allow-origin'], '*', 'readably so from any origin, like its siblings');
  t.equal(unknown.headers['access-control-allow-credentials'], undefined, 'without credentials');
  const api = await app.inject({ method: 'GET', url: '/health/live', headers: { origin: SPA } });
  t.equal(api.headers['access-control-allow-origin'], SPA, 'an API route grants the listed origin');
  t.match(String(api.headers.vary), /Origin/, 'and says its answer varies by Origin');
});

t.test('CORS_ORIGINS must be exact origins', async (t) => {
  for (const bad of ['*', 'https://app.example.com/path', 'app.example.com', 'ftp://x.example']) {
    await t.rejects(
      buildTestApp(t, { env: { CORS_ORIGINS: bad } }),
      { name: 'ConfigError', message: /CORS_ORIGINS/ },
      bad,
    );
  }
});

t.test('CSRF: cross-site browser requests to cookie endpoints are refused', async (t) => {
  const { app } = await buildTestApp(t, { env: { CORS_ORIGINS: SPA, REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const s = await session(app);
  const attempt = (headers: Record<string, string>, url = '/auth/refresh') =>
    app.inject({ method: 'POST', url, cookies: { [REFRESH_COOKIE]: s.refresh }, headers });

  const refused: Record<string, string>[] = [
    { origin: 'https://evil.example' },
    { origin: 'null' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
  ];
  for (const headers of refused) {
    const res = await attempt(headers);
    t.equal(res.statusCode, 403, JSON.stringify(headers));
    t.equal(res.json().code, 'csrf_rejected', `${JSON.stringify(headers)}: refused as csrf_rejected`);
  }
  const logout = await attempt({ origin: 'https://evil.example' }, '/auth/logout');
  t.equal(logout.statusCode, 403, 'logout too: a forged logout is refused');

  const own = await attempt({ origin: 'http://localhost:3000', 'sec-fetch-site': 'same-origin' });
  t.equal(own.statusCode, 200, 'the refused requests spent nothing: the token still rotates, from the service origin');
  const listed = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    cookies: { [REFRESH_COOKIE]: refreshCookieOf(own)! },
    headers: { origin: SPA },
  });
  t.equal(listed.statusCode, 200, 'from a listed origin');
  t.equal(listed.headers['access-control-allow-origin'], SPA, 'the refresh from a listed origin is readable by it');
  const curl = await refresh(app, refreshCookieOf(listed));
  t.equal(curl.statusCode, 200, 'no browser headers at all (curl, services): allowed');
  const sameSite = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    cookies: { [REFRESH_COOKIE]: refreshCookieOf(curl)! },
    headers: { 'sec-fetch-site': 'same-site' },
  });
  t.equal(sameSite.statusCode, 200, 'same-site allowed when SPAs on other origins are configured');

  const { app: noCors } = await buildTestApp(t);
  const s2 = await session(noCors);
  const res = await noCors.inject({
    method: 'POST',
    url: '/auth/refresh',
    cookies: { [REFRESH_COOKIE]: s2.refresh },
    headers: { 'sec-fetch-site': 'same-site' },
  });
  t.equal(res.statusCode, 403, 'same-site refused when no other origin is listed');
});

t.test('COOKIE_DOMAIN widens the cookie to subdomains', async (t) => {
  const { app } = await buildTestApp(t, { env: { COOKIE_DOMAIN: 'example.com' } });
  const s = await session(app);
  t.match(
    String(s.res.headers['set-cookie']),
    /; Domain=example\.com;/,
    'with COOKIE_DOMAIN the refresh cookie is set for the domain',
  );
  const out = await app.inject({
    method: 'POST',
    url: '/auth/logout',
    cookies: { [DOMAIN_REFRESH_COOKIE]: s.refresh },
  });
  t.match(String(out.headers['set-cookie']), /; Domain=example\.com;/, 'cleared on the same domain');
  const { app: hostOnly } = await buildTestApp(t);
  const h = await session(hostOnly);
  t.notMatch(String(h.res.headers['set-cookie']), /Domain=/, 'host-only by default');
});

t.test('X-Forwarded-For is honoured only with TRUST_PROXY', async (t) => {
  const headers = { 'x-forwarded-for': '203.0.113.7' };
  const { app, db } = await buildTestApp(t);
  const a = await session(app);
  await app.inject({ method: 'POST', url: '/auth/login', payload: { email: a.email, password: a.password }, headers });
  const ips = (await db.database.prisma.session.findMany({ where: { userId: a.user.id } })).map((s) => s.ip);
  t.same([...new Set(ips)], ['127.0.0.1'], 'spoofed header ignored');

  const { app: proxied, db: db2 } = await buildTestApp(t, { env: { TRUST_PROXY: '127.0.0.1' } });
  const b = await session(proxied);
  await proxied.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: b.email, password: b.password },
    headers,
  });
  const ips2 = (
    await db2.database.prisma.session.findMany({ where: { userId: b.user.id }, orderBy: { createdAt: 'asc' } })
  ).map((s) => s.ip);
  t.ok(ips2.includes('203.0.113.7'), 'client address from the trusted proxy');
});
