// Behind a same-origin reverse proxy the browser's Origin is the proxy's public origin, which may not be
// ISSUER. Sec-Fetch-Site: same-origin, which the browser sets and scripts cannot, is then enough for the
// CSRF check of the cookie endpoints; cross-site requests are still refused.
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildTestApp, login, refresh, refreshCookieOf, register } from '../helper.js';

const PUBLIC = 'https://auth.example.org'; // the proxy's origin; ISSUER stays the default (localhost)

t.test(
  'Sec-Fetch-Site: same-origin passes the CSRF check whatever the Origin; cross-site is still refused',
  async (t) => {
    const { app, config } = await buildTestApp(t);
    t.not(new URL(config.issuer).origin, PUBLIC, "the proxy's public origin is not ISSUER's");
    const user = await register(app);
    const post = async (url: string, headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url,
        cookies: { tessera_refresh: (await login(app, user.email)).refresh },
        headers,
      });

    for (const url of ['/auth/refresh', '/auth/logout']) {
      const ok = await post(url, { origin: PUBLIC, 'sec-fetch-site': 'same-origin' });
      t.ok([200, 204].includes(ok.statusCode), `${url}: same-origin through the proxy (${ok.statusCode})`);
      const refused: Record<string, string>[] = [
        { origin: PUBLIC, 'sec-fetch-site': 'cross-site' },
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        { origin: PUBLIC, 'sec-fetch-site': 'same-site' },
        { origin: PUBLIC }, // a browser too old to send Sec-Fetch-Site: Origin must be ISSUER's
        { origin: 'null', 'sec-fetch-site': 'cross-site' },
      ];
      for (const headers of refused) {
        const res = await post(url, headers);
        t.equal(res.statusCode, 403, `${url}: ${JSON.stringify(headers)}`);
        t.equal(res.json().code, 'csrf_rejected', `${url}: ${JSON.stringify(headers)} is refused as csrf_rejected`);
      }
    }
  },
);

t.test(
  '50 requests at once: each same-origin one rotates, each cross-site one is refused and spends nothing',
  async (t) => {
    const { app } = await buildTestApp(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
    const user = await register(app);
    // 50 sessions, logged in one after another (logins to one account from one address are checked one at a time).
    const tokens: string[] = [];
    for (let i = 0; i < 50; i++) tokens.push((await login(app, user.email)).refresh);
    const sameOrigin = (i: number) => i % 2 === 0;
    const results = await Promise.all(
      tokens.map((token, i) =>
        app.inject({
          method: 'POST',
          url: '/auth/refresh',
          cookies: { tessera_refresh: token },
          headers: sameOrigin(i)
            ? { origin: PUBLIC, 'sec-fetch-site': 'same-origin' }
            : { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        }),
      ),
    );
    t.same(
      results.map((r) => r.statusCode),
      tokens.map((_, i) => (sameOrigin(i) ? 200 : 403)),
      'each same-origin refresh rotates and each cross-site one gets 403',
    );
    t.ok(
      results.filter((_, i) => !sameOrigin(i)).every((r) => r.json().code === 'csrf_rejected'),
      'every cross-site refresh is refused as csrf_rejected',
    );
    const after = await Promise.all(
      tokens.map((token, i) => (sameOrigin(i) ? Promise.resolve(undefined) : refresh(app, token))),
    );
    t.same(
      after.flatMap((r) => (r ? [r.statusCode] : [])),
      Array(25).fill(200),
      'a refused token is still unspent',
    );
  },
);

/** A minimal same-origin reverse proxy: everything to the upstream, headers untouched. */
function reverseProxy(upstreamPort: number): http.Server {
  return http.createServer((req, res) => {
    const up = http.request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
}

function post(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('a real server behind a real reverse proxy on another origin than ISSUER', async (t) => {
  const { app } = await buildTestApp(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const proxy = reverseProxy((app.server.address() as AddressInfo).port);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => proxy.close(resolve)));
  const proxyPort = (proxy.address() as AddressInfo).port;
  const publicOrigin = `http://127.0.0.1:${proxyPort}`;

  const user = await register(app);
  const s = await login(app, user.email);
  const cookie = (token: string) => `tessera_refresh=${token}`;
  const refused = await post(proxyPort, '/auth/refresh', {
    cookie: cookie(s.refresh),
    origin: 'https://evil.example',
    'sec-fetch-site': 'cross-site',
  });
  t.equal(refused.status, 403, 'a cross-site refresh through the proxy is refused with 403');
  t.equal(
    JSON.parse(refused.body).code,
    'csrf_rejected',
    'a cross-site refresh through the proxy is refused as csrf_rejected',
  );
  const ok = await post(proxyPort, '/auth/refresh', {
    cookie: cookie(s.refresh),
    origin: publicOrigin,
    'sec-fetch-site': 'same-origin',
  });
  t.equal(ok.status, 200, 'same-origin through the proxy');
  const next = refreshCookieOf({
    cookies: ok.setCookie.map((c) => ({ name: c.split('=')[0]!, value: c.split('=')[1]!.split(';')[0]! })),
  });
  t.ok(next, 'a new refresh cookie');
  const out = await post(proxyPort, '/auth/logout', {
    cookie: cookie(next!),
    origin: publicOrigin,
    'sec-fetch-site': 'same-origin',
  });
  t.equal(out.status, 204, 'logout through the proxy');
});
