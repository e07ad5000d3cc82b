// The refresh cookie against cookie tossing: the __Host- prefix by default, COOKIE_DOMAIN's shared cookie,
// requests carrying two refresh cookies (refused, nothing cleared), and the rollout from the old cookie.
import t from 'tap';
import type { AddressInfo } from 'node:net';
import { DOMAIN_REFRESH_COOKIE, REFRESH_COOKIE, buildTestApp, refresh, refreshCookieOf, session } from '../helper.js';

const setCookies = (res: { headers: Record<string, unknown> }): string[] => {
  const h = res.headers['set-cookie'];
  return h === undefined ? [] : Array.isArray(h) ? h.map(String) : [String(h)];
};

t.test(
  'by default the cookie is __Host-tessera_refresh: Secure, HttpOnly, SameSite=Strict, Path=/, no Domain',
  async (t) => {
    const { app } = await buildTestApp(t);
    const s = await session(app);
    const rotated = await refresh(app, s.refresh);
    t.equal(rotated.statusCode, 200, 'the refresh is accepted');
    for (const [name, res] of [
      ['login', s.res],
      ['refresh', rotated],
    ] as const) {
      const [cookie, ...more] = setCookies(res);
      t.same(more, [], `${name}: one Set-Cookie`);
      t.match(cookie, /^__Host-tessera_refresh=[A-Za-z0-9_-]{82}; /, `${name}: the prefixed name`);
      for (const attribute of [/; Secure(;|$)/, /; HttpOnly(;|$)/, /; SameSite=Strict(;|$)/, /; Path=\/(;|$)/])
        t.match(cookie, attribute, `${name}: ${attribute}`);
      t.notMatch(cookie, /Domain=/i, `${name}: no Domain (the prefix forbids one)`);
    }
  },
);

t.test('with COOKIE_DOMAIN the cookie is tessera_refresh for the domain, on Path=/auth, and still works', async (t) => {
  const { app } = await buildTestApp(t, { env: { COOKIE_DOMAIN: 'example.com' } });
  const s = await session(app);
  const [cookie] = setCookies(s.res);
  t.match(
    cookie,
    /^tessera_refresh=[A-Za-z0-9_-]{82}; /,
    'with COOKIE_DOMAIN the cookie is the unprefixed tessera_refresh',
  );
  t.match(cookie, /; Domain=example\.com(;|$)/, 'the cookie is shared with the configured domain');
  t.match(cookie, /; Path=\/auth(;|$)/, 'the domain cookie is scoped to Path=/auth');
  t.match(cookie, /; Secure(;|$)/, 'the domain cookie is Secure');
  const rotated = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    cookies: { [DOMAIN_REFRESH_COOKIE]: s.refresh },
  });
  t.equal(rotated.statusCode, 200, 'the domain cookie refreshes');
  t.match(
    setCookies(rotated)[0],
    /^tessera_refresh=[A-Za-z0-9_-]{82}; .*Domain=example\.com/,
    'the refreshed domain cookie is set for the domain again',
  );
  const twice = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { cookie: `tessera_refresh=${refreshCookieOf(rotated)}; tessera_refresh=planted-by-a-sibling` },
  });
  t.equal(twice.statusCode, 400, 'two domain cookies in one request are refused with 400');
  t.equal(twice.json().code, 'refresh_cookie_conflict', 'two domain cookies are refused as a cookie conflict');
  t.same(setCookies(twice), [], 'nothing set or cleared');
});

t.test('two refresh cookies in one request are refused, and nothing is set, cleared or spent', async (t) => {
  const { app, db } = await buildTestApp(t);
  const victim = await session(app);
  const attacker = await session(app);
  const cases: [name: string, cookie: string][] = [
    [
      'the victim first, the attacker second',
      `${REFRESH_COOKIE}=${victim.refresh}; ${REFRESH_COOKIE}=${attacker.refresh}`,
    ],
    [
      'the attacker first (a tossed cookie with a longer path is sent first)',
      `${REFRESH_COOKIE}=${attacker.refresh}; ${REFRESH_COOKIE}=${victim.refresh}`,
    ],
    [
      'the attacker under the unprefixed name',
      `${DOMAIN_REFRESH_COOKIE}=${attacker.refresh}; ${REFRESH_COOKIE}=${victim.refresh}`,
    ],
    ['the same token twice', `${REFRESH_COOKIE}=${victim.refresh}; ${REFRESH_COOKIE}=${victim.refresh}`],
    ['one empty, one real', `${REFRESH_COOKIE}=; ${REFRESH_COOKIE}=${victim.refresh}`],
    ['among other cookies', `theme=dark; ${REFRESH_COOKIE}=${victim.refresh}; lang=en; ${DOMAIN_REFRESH_COOKIE}=x`],
  ];
  const unspent = () => db.database.prisma.refreshToken.count({ where: { spentAt: null } });
  const before = await unspent();
  for (const url of ['/auth/refresh', '/auth/logout']) {
    for (const [name, cookie] of cases) {
      const res = await app.inject({ method: 'POST', url, headers: { cookie } });
      t.equal(res.statusCode, 400, `${url}, ${name}: 400`);
      t.equal(res.json().code, 'refresh_cookie_conflict', `${url}, ${name}: refresh_cookie_conflict`);
      t.same(setCookies(res), [], `${url}, ${name}: no Set-Cookie at all`);
    }
  }
  // 50 at the same instant: the same answer each time.
  const burst = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      app.inject({
        method: 'POST',
        url: i % 2 ? '/auth/refresh' : '/auth/logout',
        headers: { cookie: cases[i % cases.length]![1] },
      }),
    ),
  );
  t.same(
    [...new Set(burst.map((r) => `${r.statusCode} ${r.json().code} ${setCookies(r).length}`))],
    ['400 refresh_cookie_conflict 0'],
    '50 simultaneous: all refused, none cleared',
  );
  t.equal(await unspent(), before, 'no refresh token was spent or revoked');
  t.equal(
    (await refresh(app, victim.refresh)).statusCode,
    200,
    "positive control: the victim's own cookie, alone, still refreshes",
  );
  t.equal((await refresh(app, attacker.refresh)).statusCode, 200, "and so does the attacker's, alone");
});

t.test('over a real socket, two refresh cookies are refused the same way', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await session(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/auth/refresh`, {
    method: 'POST',
    headers: { cookie: `${REFRESH_COOKIE}=${s.refresh}; ${DOMAIN_REFRESH_COOKIE}=tossed` },
  });
  t.equal(res.status, 400, 'two refresh cookies over a real socket are refused with 400');
  t.equal(
    ((await res.json()) as { code: string }).code,
    'refresh_cookie_conflict',
    'two refresh cookies over a real socket are refused as a cookie conflict',
  );
  t.same(res.headers.getSetCookie(), [], 'the refused request sets or clears no cookie');
});

t.test('rollout: the old tessera_refresh cookie (Path=/auth) is accepted once, replaced and cleared', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await session(app); // stands in for a session started before the upgrade, under the old name
  const res = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    cookies: { [DOMAIN_REFRESH_COOKIE]: s.refresh },
  });
  t.equal(res.statusCode, 200, 'the old cookie still refreshes: nobody is logged out by the upgrade');
  const cookies = setCookies(res);
  t.equal(cookies.length, 2, 'the rollout refresh sets the new cookie and clears the old one');
  t.match(
    cookies.find((c) => c.startsWith(`${REFRESH_COOKIE}=`)),
    /; Path=\/(;|$)/,
    'the new cookie is set',
  );
  const cleared = cookies.find((c) => c.startsWith(`${DOMAIN_REFRESH_COOKIE}=`));
  t.match(cleared, /^tessera_refresh=; /, 'the old one is cleared');
  t.match(cleared, /; Path=\/auth(;|$)/, 'on its own path');
  t.match(cleared, /Max-Age=0|Expires=Thu, 01 Jan 1970/, 'the old cookie is expired');
  const next = refreshCookieOf(res)!;
  t.equal((await refresh(app, next)).statusCode, 200, 'the new cookie works');

  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: s.email, password: s.password },
    cookies: { [DOMAIN_REFRESH_COOKIE]: 'left over from before' },
  });
  t.equal(login.statusCode, 200, 'a login carrying the old cookie is accepted');
  t.ok(
    setCookies(login).some((c) => /^tessera_refresh=; .*Path=\/auth/.test(c)),
    'a login that carries the old cookie clears it too',
  );

  const out = await app.inject({
    method: 'POST',
    url: '/auth/logout',
    cookies: { [DOMAIN_REFRESH_COOKIE]: refreshCookieOf(login)! },
  });
  t.equal(out.statusCode, 204, 'logout with the old cookie answers 204');
  t.ok(
    setCookies(out).some((c) => /^tessera_refresh=; /.test(c)),
    'logout with the old cookie clears it',
  );
});
