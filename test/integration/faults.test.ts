// The database going away mid-flight: 503 with a code, never a half-rotated session.
import t from 'tap';
import { buildTestApp, createTestDatabase, login, refresh, refreshCookieOf, session } from '../helper.js';

t.test('database down during login and refresh', async (t) => {
  const db = await createTestDatabase();
  let closed = false;
  t.teardown(() => (closed ? undefined : db.close()));
  const { app } = await buildTestApp(t, { db, env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const s = await session(app);

  const restore = await db.outage();
  for (const res of [
    await refresh(app, s.refresh),
    await app.inject({ method: 'POST', url: '/auth/login', payload: { email: s.email, password: s.password } }),
    await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${s.accessToken}` } }),
  ]) {
    t.equal(res.statusCode, 503, `${res.raw.req.method} ${res.raw.req.url}: a database outage answers 503`);
    t.equal(
      res.json().code,
      'service_unavailable',
      `${res.raw.req.method} ${res.raw.req.url}: the 503 says service_unavailable`,
    );
    t.ok(Number(res.headers['retry-after']) > 0, 'with Retry-After');
    t.notMatch(res.body, /prisma|postgres|pglite|57P01|terminat/i, 'nothing internal in the body');
  }

  if (!restore) {
    // PGlite is in-process: an outage is the instance closing for good; nothing to come back to.
    closed = true;
    await db.close();
    return;
  }
  await restore();
  const back = await refresh(app, s.refresh);
  t.equal(back.statusCode, 200, 'the token the failed refresh presented still works: nothing was half-rotated');
  t.equal(
    (await refresh(app, refreshCookieOf(back))).statusCode,
    200,
    'the rotated refresh token works after the outage too',
  );
  t.ok(await login(app, s.email), 'login works again');
});
