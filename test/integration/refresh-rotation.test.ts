// Refresh rotation, reuse detection, the grace window, logout and logout-all, through HTTP.
import t from 'tap';
import { buildTestApp, login, me, refresh, refreshCookieOf, session, REFRESH_COOKIE, expectError } from '../helper.js';

t.test('rotation: every refresh spends the token and returns a new one', async (t) => {
  const { app, db } = await buildTestApp(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const s = await session(app);
  const res = await refresh(app, s.refresh);
  t.equal(res.statusCode, 200, 'the refresh is accepted');
  const body = res.json();
  t.same(
    Object.keys(body).sort(),
    ['access_token', 'expires_in', 'token_type'],
    'the refresh answers only the access token, its type and lifetime',
  );
  t.equal(res.headers['cache-control'], 'no-store', 'the refresh response is not cached');
  const next = refreshCookieOf(res);
  t.ok(next, 'the refresh sets a new refresh cookie');
  t.not(next, s.refresh, 'the new refresh token differs from the spent one');
  t.match(
    String(res.headers['set-cookie']),
    /HttpOnly; Secure; SameSite=Strict/,
    'the new refresh cookie is HttpOnly, Secure and SameSite=Strict',
  );
  t.equal((await me(app, body.access_token)).statusCode, 200, 'the new access token works');

  const chain = [next!];
  for (let i = 0; i < 3; i++) {
    const r = await refresh(app, chain.at(-1));
    t.equal(r.statusCode, 200, `refresh ${i + 1} of the chain is accepted`);
    chain.push(refreshCookieOf(r)!);
  }
  t.equal(new Set(chain).size, chain.length, 'all distinct');
  // v2: no row per token; the session's counter says which token is live.
  t.equal(await db.database.prisma.refreshToken.count(), 0, 'no refresh-token rows');
  const row = await db.database.prisma.session.findFirstOrThrow({ where: { userId: s.user.id } });
  t.equal(row.refreshCounter, 4n, 'four rotations moved the counter four times');
  const stored = JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  for (const token of [s.refresh, ...chain]) t.notOk(stored.includes(token), 'no token is stored');
  for (const old of [s.refresh, ...chain.slice(0, -1)]) {
    const res = await refresh(app, old);
    t.equal(res.statusCode, 401, 'every earlier token is refused');
    if (old === s.refresh)
      t.equal(res.json().code, 'refresh_token_reused', 'the first, long-spent token is refused as reused');
  }
  t.equal(
    await db.database.prisma.auditEvent.count({ where: { type: 'refresh', userId: s.user.id } }),
    4,
    'the four refreshes are audited',
  );
});

t.test('reuse of a rotated token kills the whole session, newest token included', async (t) => {
  const { app, db } = await buildTestApp(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const s = await session(app);
  const r1 = await refresh(app, s.refresh);
  const t1 = refreshCookieOf(r1)!;
  const r2 = await refresh(app, t1);
  const t2 = refreshCookieOf(r2)!;

  const reuse = await refresh(app, s.refresh);
  expectError(t, reuse, 'refresh_token_reused');
  t.match(
    String(reuse.headers['set-cookie']),
    /^__Host-tessera_refresh=;.*Max-Age=0|Expires=Thu, 01 Jan 1970/,
    'cookie cleared',
  );

  const newest = await refresh(app, t2);
  expectError(t, newest, 'session_revoked', 'the newest token of the family is dead too');
  t.equal(
    (await me(app, r2.json().access_token)).statusCode,
    401,
    "the session's access tokens no longer open /auth/me",
  );

  const sessionRow = await db.database.prisma.session.findFirstOrThrow({ where: { userId: s.user.id } });
  t.ok(sessionRow.revokedAt, 'revocation committed although the request failed');
  t.equal(sessionRow.revokedReason, 'refresh_token_reused', 'the session is revoked for refresh-token reuse');
  const audit = await db.database.prisma.auditEvent.findMany({ where: { type: 'refresh_reuse_detected' } });
  t.equal(audit.length, 1, 'the reuse is audited once');
  t.equal(audit[0]!.sessionId, sessionRow.id, 'the reuse audit names the revoked session');
  t.equal(audit[0]!.userId, s.user.id, 'the reuse audit names the user');

  t.test('other sessions of the same user are untouched', async (t) => {
    const other = await login(app, s.email);
    t.equal((await refresh(app, other.refresh)).statusCode, 200, 'a separate login of the same user still refreshes');
  });
});

t.test('grace window for tabs refreshing at once (controlled clock)', async (t) => {
  const { app, clock, db } = await buildTestApp(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '10' } });

  t.test('a token rotated less than the grace ago, whose successor is unused, may be exchanged again', async (t) => {
    const s = await session(app);
    const first = await refresh(app, s.refresh);
    t.equal(first.statusCode, 200, "the first tab's refresh is accepted");
    clock.advance(9);
    const second = await refresh(app, s.refresh);
    t.equal(second.statusCode, 200, 'second tab within 9 s');
    const a = refreshCookieOf(first)!;
    const b = refreshCookieOf(second)!;
    t.equal(a, b, 'the second tab gets the very successor the first got: still one live token');
    const next = await refresh(app, b);
    t.equal(next.statusCode, 200, 'the shared successor is accepted');
    clock.advance(10);
    const stale = await refresh(app, a);
    expectError(t, stale, 'refresh_token_reused', 'once that successor is used and its window is over, it is spent');
  });

  t.test('after the grace window, a second exchange is reuse', async (t) => {
    const s = await session(app);
    t.equal((await refresh(app, s.refresh)).statusCode, 200, 'the first refresh is accepted');
    clock.advance(10);
    const late = await refresh(app, s.refresh);
    expectError(t, late, 'refresh_token_reused');
  });

  t.test('within the window but after the successor was used, it is reuse', async (t) => {
    const s = await session(app);
    const first = await refresh(app, s.refresh);
    t.equal((await refresh(app, refreshCookieOf(first)!)).statusCode, 200, 'the successor is accepted');
    clock.advance(1);
    const again = await refresh(app, s.refresh);
    expectError(t, again, 'refresh_token_reused');
    const row = await db.database.prisma.session.findFirstOrThrow({ where: { userId: s.user.id } });
    t.equal(row.revokedReason, 'refresh_token_reused', 'the session is revoked for refresh-token reuse');
  });

  t.test('REFRESH_REUSE_GRACE_SECONDS=0 turns the grace off', async (t) => {
    const { app: strict } = await buildTestApp(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' }, db, clock });
    const s = await session(strict);
    t.equal((await refresh(strict, s.refresh)).statusCode, 200, 'the first refresh without grace is accepted');
    const again = await refresh(strict, s.refresh);
    expectError(t, again, 'refresh_token_reused');
  });
});

t.test('parallel refreshes with one token', async (t) => {
  t.test('without grace: at most one succeeds, the others are reuse, the family dies', async (t) => {
    const { app, db } = await buildTestApp(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
    const s = await session(app);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(app, s.refresh)));
    const statuses = results.map((r) => r.statusCode);
    t.notOk(
      statuses.some((c) => c >= 500),
      'no 5xx',
    );
    t.equal(statuses.filter((c) => c === 200).length, 1, 'exactly one winner');
    const codes = results.filter((r) => r.statusCode !== 200).map((r) => r.json().code as string);
    // The first loser detects the reuse and revokes the family; the rest find it already revoked.
    t.equal(codes.filter((c) => c === 'refresh_token_reused').length, 1, 'one loser detects the reuse');
    t.equal(codes.filter((c) => c === 'session_revoked').length, 18, 'the other 18 losers find the session revoked');
    t.equal(
      await db.database.prisma.auditEvent.count({ where: { type: 'refresh_reuse_detected', userId: s.user.id } }),
      1,
      'the reuse is audited exactly once',
    );
    const winner = refreshCookieOf(results.find((r) => r.statusCode === 200)!)!;
    t.equal((await refresh(app, winner)).statusCode, 401, "the winner's token died with the family");
    const row = await db.database.prisma.session.findFirstOrThrow({ where: { userId: s.user.id } });
    t.equal(row.revokedReason, 'refresh_token_reused', 'the session is revoked: no token of it is live');
  });

  t.test('with grace: all succeed with one and the same successor, so one token is live', async (t) => {
    const { app, db } = await buildTestApp(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '10' } });
    const s = await session(app);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(app, s.refresh)));
    t.same(
      results.map((r) => r.statusCode),
      Array(20).fill(200),
      'with grace, every parallel refresh is accepted',
    );
    const successors = results.map((r) => refreshCookieOf(r)!);
    t.equal(new Set(successors).size, 1, 'every racer got the same successor');
    t.equal((await refresh(app, successors[7])).statusCode, 200, 'the shared successor refreshes');
    const row = await db.database.prisma.session.findFirstOrThrow({ where: { userId: s.user.id } });
    t.equal(row.refreshCounter, 2n, 'twenty racers moved the counter once; the successor moved it again');
  });
});

t.test('refresh refusals', async (t) => {
  const { app, clock, config } = await buildTestApp(t);
  const cases: [string, string | undefined, string][] = [
    ['no cookie', undefined, 'refresh_token_missing'],
    ['empty cookie', '', 'refresh_token_missing'],
    ['garbage', 'garbage', 'refresh_token_invalid'],
    ['right shape, unknown', 'A'.repeat(43), 'refresh_token_invalid'],
    ['huge', 'A'.repeat(4000), 'refresh_token_invalid'],
  ];
  for (const [name, token, code] of cases) {
    const res = await refresh(app, token);
    t.equal(res.statusCode, 401, name);
    t.equal(res.json().code, code, name);
  }

  t.test('an expired refresh token is refused with session_expired', async (t) => {
    const s = await session(app);
    clock.advance(config.refreshTokenTtl + 1);
    const res = await refresh(app, s.refresh);
    expectError(t, res, 'session_expired');
  });

  t.test('the cookie Max-Age follows the refresh lifetime', async (t) => {
    const s = await session(app);
    clock.advance(60);
    const res = await refresh(app, s.refresh);
    t.match(
      String(res.headers['set-cookie']),
      new RegExp(`Max-Age=${config.refreshTokenTtl};`),
      'the refresh cookie lives as long as the refresh token',
    );
  });
});

t.test('logout', async (t) => {
  const { app, db } = await buildTestApp(t);
  const s = await session(app);
  const res = await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [REFRESH_COOKIE]: s.refresh } });
  t.equal(res.statusCode, 204, 'logout answers 204');
  t.equal(res.body, '', 'logout answers with an empty body');
  t.match(String(res.headers['set-cookie']), /^__Host-tessera_refresh=;/, 'cookie cleared');
  t.match(String(res.headers['set-cookie']), /Path=\/(;|$)/, 'on the path it was set for');
  const after = await refresh(app, s.refresh);
  expectError(t, after, 'session_revoked');
  t.equal((await me(app, s.accessToken)).statusCode, 401, 'access tokens of the session stop opening /auth/me');
  const row = await db.database.prisma.session.findFirstOrThrow({ where: { userId: s.user.id } });
  t.equal(row.revokedReason, 'logout', 'the session is revoked for logout');

  t.test('is idempotent: again, with garbage, or without a cookie', async (t) => {
    for (const cookies of [{ [REFRESH_COOKIE]: s.refresh }, { [REFRESH_COOKIE]: 'junk' }, {}] as Record<
      string,
      string
    >[]) {
      const r = await app.inject({ method: 'POST', url: '/auth/logout', cookies });
      t.equal(r.statusCode, 204, `${cookies[REFRESH_COOKIE]?.slice(0, 8) ?? 'no cookie'}: logout still answers 204`);
    }
    t.equal(
      await db.database.prisma.auditEvent.count({ where: { type: 'logout', userId: s.user.id } }),
      1,
      'one audit record for one real logout',
    );
  });

  t.test('accepts an empty JSON body (SPAs send the header on every POST)', async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    t.equal(r.statusCode, 204, 'logout with an empty JSON body answers 204');
  });
});

t.test('logout-all', async (t) => {
  const { app, db } = await buildTestApp(t);
  const s = await session(app);
  const other = await login(app, s.email);
  const third = await login(app, s.email);

  const noToken = await app.inject({ method: 'POST', url: '/auth/logout-all' });
  expectError(t, noToken, 'missing_token');

  const res = await app.inject({
    method: 'POST',
    url: '/auth/logout-all',
    headers: { authorization: `Bearer ${s.accessToken}` },
  });
  t.equal(res.statusCode, 204, 'logout-all answers 204');
  t.match(String(res.headers['set-cookie']), /^__Host-tessera_refresh=;/, 'logout-all clears the refresh cookie');
  for (const token of [s.refresh, other.refresh, third.refresh]) {
    const r = await refresh(app, token);
    expectError(t, r, 'session_revoked');
  }
  t.equal((await me(app, other.accessToken)).statusCode, 401, "another session's access token stops opening /auth/me");
  t.equal(
    await db.database.prisma.session.count({ where: { userId: s.user.id, revokedAt: null } }),
    0,
    'no session of the user is left unrevoked',
  );
  const ev = await db.database.prisma.auditEvent.findFirstOrThrow({ where: { type: 'logout_all', userId: s.user.id } });
  t.equal(ev.reason, '3 sessions', 'the logout_all audit counts the three sessions ended');

  t.test('a new login works afterwards', async (t) => {
    const again = await login(app, s.email);
    t.equal((await refresh(app, again.refresh)).statusCode, 200, 'a login after logout-all refreshes');
  });

  t.test("another user's sessions are untouched", async (t) => {
    const bob = await session(app);
    await app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: { authorization: `Bearer ${(await login(app, s.email)).accessToken}` },
    });
    t.equal((await refresh(app, bob.refresh)).statusCode, 200, "another user's session still refreshes");
  });
});
