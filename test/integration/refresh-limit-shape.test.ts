// The refresh rate limit's shape: a valid refresh cookie counts against its session (a developer reloading
// an SPA never meets the limit), anything else against the address (guessing stays limited).
// RATE_LIMIT_PER_MINUTE=20 as in production, in process and through a listening server.
import t from 'tap';
import { SESSION_BUCKETS } from '../../src/plugins/rate-limit.js';
import { PASSWORD, REFRESH_COOKIE, buildTestApp, refresh, refreshCookieOf, session, uniqueEmail } from '../helper.js';

const LIMITED = { RATE_LIMIT_PER_MINUTE: '20' };

t.test('60 reloads in a minute with one valid session all pass', async (t) => {
  const { app } = await buildTestApp(t, { env: LIMITED });
  const s = await session(app);
  let cookie = s.refresh;
  const statuses: number[] = [];
  for (let i = 0; i < 60; i++) {
    const res = await refresh(app, cookie);
    statuses.push(res.statusCode);
    cookie = refreshCookieOf(res) ?? cookie;
  }
  t.same([...new Set(statuses)], [200], 'no 429 in 60 refreshes');
  t.equal(Number(SESSION_BUCKETS) * 20, 120, 'the session budget: 120 a minute');
});

t.test('50 garbage or forged cookies at once from one address are limited', async (t) => {
  const { app } = await buildTestApp(t, { env: LIMITED });
  const s = await session(app);
  // A well-formed token with its last MAC characters changed: the shape passes, the MAC doesn't.
  const forged = `${s.refresh.slice(0, -4)}${s.refresh.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const cookies = Array.from({ length: 50 }, (_, i) => (i % 2 ? forged : `garbage-${i}`));
  const replies = await Promise.all(cookies.map((c) => refresh(app, c)));
  const codes = replies.map((r) => r.json().code as string);
  t.equal(codes.filter((c) => c === 'too_many_requests').length, 30, '30 of 50 refused: the address budget is 20');
  t.equal(
    codes.filter((c) => c === 'refresh_token_invalid').length,
    20,
    'the 20 within the address budget are checked and refused as invalid',
  );
  t.equal(
    (await refresh(app, undefined)).json().code,
    'too_many_requests',
    'no cookie at all counts against the address too',
  );
  t.equal((await refresh(app, s.refresh)).statusCode, 200, 'the valid session is not caught by the flood');
});

t.test('50 users behind one address (an office NAT) refreshing at the same instant all pass', async (t) => {
  const { app } = await buildTestApp(t, { env: LIMITED });
  // Each logs in from an address of its own (register and login keep their per-address limit)...
  const cookies = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const remoteAddress = `10.0.${i}.1`;
      const payload = { email: uniqueEmail(), password: PASSWORD };
      await app.inject({ method: 'POST', url: '/auth/register', payload, remoteAddress });
      const res = await app.inject({ method: 'POST', url: '/auth/login', payload, remoteAddress });
      return refreshCookieOf(res)!;
    }),
  );
  // ...then all refresh from one.
  const replies = await Promise.all(cookies.map((c) => refresh(app, c)));
  t.same(
    [...new Set(replies.map((r) => r.statusCode))],
    [200],
    '50 users refreshing from one address are all accepted',
  );
});

t.test('one valid token replayed 50 times at once is limited like an address', async (t) => {
  const { app } = await buildTestApp(t, { env: LIMITED });
  const s = await session(app);
  const replies = await Promise.all(Array.from({ length: 50 }, () => refresh(app, s.refresh)));
  t.equal(replies.filter((r) => r.statusCode === 429).length, 30, 'one bucket: 20 pass (grace replays), 30 refused');
});

t.test('through a listening server: reloads pass, garbage is limited', async (t) => {
  const { app } = await buildTestApp(t, { env: LIMITED });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const s = await session(app);
  let cookie = s.refresh;
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${address}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: `${REFRESH_COOKIE}=${cookie}`, 'sec-fetch-site': 'same-origin' },
    });
    t.equal(res.status, 200, `reload ${i + 1}`);
    cookie = /__Host-tessera_refresh=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? cookie;
  }
  const garbage = await Promise.all(
    Array.from({ length: 25 }, (_, i) =>
      fetch(`${address}/auth/refresh`, {
        method: 'POST',
        headers: { cookie: `${REFRESH_COOKIE}=junk${i}`, 'sec-fetch-site': 'same-origin' },
      }).then((r) => r.status),
    ),
  );
  t.equal(
    garbage.filter((s) => s === 429).length,
    5,
    '25 garbage cookies after 30 reloads: 5 exceed the address budget and get 429',
  );
});
