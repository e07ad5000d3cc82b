// Sessions a user can see and end; password change; absolute and idle session limits; the purge.
import t from 'tap';
import {
  buildTestApp,
  login,
  me,
  PASSWORD,
  refresh,
  refreshCookieOf,
  register,
  session,
  type TestApp,
  REFRESH_COOKIE,
  expectError,
} from '../helper.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const listSessions = (app: TestApp, token: string) =>
  app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(token) });

t.test('GET /auth/sessions lists the live sessions of the caller only, marking the current one', async (t) => {
  const { app } = await buildTestApp(t);
  const { email, accessToken: first } = await session(app);
  const second = await login(app, email, PASSWORD, { 'user-agent': 'Firefox on a laptop' });
  const ended = await login(app, email);
  await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [REFRESH_COOKIE]: ended.refresh } });
  await session(app); // someone else

  const res = await listSessions(app, second.accessToken);
  t.equal(res.statusCode, 200, 'listing the sessions is accepted');
  t.equal(res.headers['cache-control'], 'no-store', 'the session list is not cached');
  const list = res.json().sessions as Record<string, unknown>[];
  t.equal(list.length, 2, 'the logged-out session and the other user’s are not listed');
  const current = list.filter((s) => s.current);
  t.equal(current.length, 1, "exactly one session is marked as the caller's");
  t.match(
    current[0],
    {
      user_agent: 'Firefox on a laptop',
      ip: '127.0.0.1',
      created: String,
      last_used: String,
      expires: String,
    },
    "the caller's session shows its user agent, ip and dates",
  );
  t.same(
    Object.keys(list[0]!).sort(),
    ['created', 'current', 'expires', 'id', 'ip', 'last_used', 'user_agent'],
    'a listed session shows only its public fields',
  );
  const fromFirst = (await listSessions(app, first)).json().sessions as { current: boolean; id: string }[];
  t.not(fromFirst.find((s) => s.current)!.id, current[0]!.id, 'current is relative to the caller');

  t.equal(
    (await app.inject({ method: 'GET', url: '/auth/sessions' })).json().code,
    'missing_token',
    'listing sessions without an access token is refused as missing_token',
  );
});

t.test('DELETE /auth/sessions/:id ends one own session; anyone else’s is a 404 like a missing one', async (t) => {
  const { app, db } = await buildTestApp(t);
  const alice = await session(app);
  const laptop = await login(app, alice.email);
  const bob = await session(app);
  const ids = (await listSessions(app, alice.accessToken)).json().sessions as { id: string; current: boolean }[];
  const laptopId = ids.find((s) => !s.current)!.id;
  const bobId = ((await listSessions(app, bob.accessToken)).json().sessions as { id: string }[])[0]!.id;

  const notYours = await app.inject({
    method: 'DELETE',
    url: `/auth/sessions/${bobId}`,
    headers: bearer(alice.accessToken),
  });
  const missing = await app.inject({
    method: 'DELETE',
    url: '/auth/sessions/00000000-0000-4000-8000-000000000000',
    headers: bearer(alice.accessToken),
  });
  const garbage = await app.inject({
    method: 'DELETE',
    url: `/auth/sessions/${encodeURIComponent("1' OR '1'='1")}`,
    headers: bearer(alice.accessToken),
  });
  for (const res of [notYours, missing, garbage]) {
    expectError(t, res, 'not_found');
  }
  t.same(notYours.json().message, missing.json().message, 'no existence leak');
  t.equal((await refresh(app, bob.refresh)).statusCode, 200, 'bob’s session survived');

  const del = await app.inject({
    method: 'DELETE',
    url: `/auth/sessions/${laptopId}`,
    headers: bearer(alice.accessToken),
  });
  t.equal(del.statusCode, 204, "ending one's own other session answers 204");
  t.equal((await refresh(app, laptop.refresh)).json().code, 'session_revoked', 'its refresh token is dead');
  t.equal((await me(app, laptop.accessToken)).statusCode, 401, 'its access token is refused here at once');
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/auth/sessions/${laptopId}`, headers: bearer(alice.accessToken) }))
      .statusCode,
    404,
    'already ended',
  );
  t.equal((await me(app, alice.accessToken)).statusCode, 200, 'the caller’s own session is untouched');
  t.equal(
    await db.database.prisma.auditEvent.count({ where: { type: 'session_revoked', sessionId: laptopId } }),
    1,
    'ending a session is audited once',
  );
});

t.test('POST /auth/password changes the password and ends every other session', async (t) => {
  const { app, db } = await buildTestApp(t);
  const { email, accessToken, refresh: keep } = await session(app);
  const other = await login(app, email);
  const change = (current: string, next: string) =>
    app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      payload: { current_password: current, new_password: next },
    });

  const wrong = await change('not my password', 'a brand new password');
  expectError(t, wrong, 'current_password_incorrect');
  t.equal(
    (await change(PASSWORD, 'short')).json().code,
    'invalid_password',
    'a too-short new password is refused as invalid_password',
  );
  t.equal((await refresh(app, other.refresh)).statusCode, 200, 'failed changes end nothing');
  const other2 = await login(app, email);

  const ok = await change(PASSWORD, 'a brand new password');
  t.equal(ok.statusCode, 204, 'the password change is accepted');
  t.equal((await refresh(app, other2.refresh)).json().code, 'session_revoked', 'other sessions ended');
  t.equal((await refresh(app, keep)).statusCode, 200, 'the session that changed it stays');
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } })).statusCode,
    401,
    'old password refused',
  );
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'a brand new password' } }))
      .statusCode,
    200,
    'the new password logs in',
  );
  const types = (
    await db.database.prisma.auditEvent.findMany({
      where: { type: { in: ['password_changed', 'password_change_failed'] } },
    })
  )
    .map((e) => e.type)
    .sort();
  t.same(
    types,
    ['password_change_failed', 'password_changed'],
    'both the failed and the successful change are audited',
  );

  const noBearer = await app.inject({
    method: 'POST',
    url: '/auth/password',
    payload: { current_password: 'x', new_password: 'y' },
  });
  t.equal(
    noBearer.json().code,
    'missing_token',
    'changing the password without an access token is refused as missing_token',
  );
});

t.test('wrong current passwords are throttled like failed logins', async (t) => {
  const { app } = await buildTestApp(t);
  const { accessToken } = await session(app);
  const codes: string[] = [];
  for (let i = 0; i < 7; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      payload: { current_password: `guess ${i}`, new_password: 'whatever it is now' },
    });
    codes.push(res.json().code);
  }
  t.same(
    codes.slice(0, 6),
    Array(6).fill('current_password_incorrect'),
    'the first six wrong current passwords are refused as incorrect',
  );
  t.equal(codes[6], 'too_many_requests', 'a stolen access token is not a free password oracle');
});

t.test('SESSION_MAX_AGE_SECONDS: refreshing never extends a session past it', async (t) => {
  const { app, clock } = await buildTestApp(t, {
    env: { SESSION_MAX_AGE_SECONDS: '3600', SESSION_IDLE_SECONDS: '1800' },
  });
  let { refresh: token } = await session(app);
  for (let i = 0; i < 5; i++) {
    clock.advance(600); // refreshed every 10 minutes: never idle
    const res = await refresh(app, token);
    t.equal(res.statusCode, 200, `refresh at ${(i + 1) * 10} min`);
    token = refreshCookieOf(res)!;
    const cookie = res.cookies.find((c) => c.name === REFRESH_COOKIE)!;
    t.ok(cookie.maxAge! <= 3600 - (i + 1) * 600, 'the cookie never outlives the session');
  }
  clock.advance(600); // 60 minutes after login
  const over = await refresh(app, token);
  expectError(t, over, 'session_expired');
});

t.test('SESSION_IDLE_SECONDS: a session not refreshed for that long has ended', async (t) => {
  const { app, clock } = await buildTestApp(t, { env: { SESSION_IDLE_SECONDS: '1800' } });
  const { refresh: token, accessToken } = await session(app);
  clock.advance(1799);
  const res = await refresh(app, token);
  t.equal(res.statusCode, 200, 'just inside the idle limit');
  clock.advance(1800);
  const idle = await refresh(app, refreshCookieOf(res));
  t.equal(idle.json().code, 'session_expired', "the idle session's refresh is refused as expired");
  t.equal(
    (await listSessions(app, (res.json() as { access_token: string }).access_token)).statusCode,
    401,
    'the access token of an ended session is refused here',
  );
  t.ok(accessToken, 'the session came with an access token');
});

t.test('the purge deletes long-ended sessions, in batches, and keeps the rest', async (t) => {
  const { app, clock, db } = await buildTestApp(t, {
    env: { SESSION_IDLE_SECONDS: '3600', PURGE_AFTER_DAYS: '1', REFRESH_REUSE_GRACE_SECONDS: '0' },
  });
  const prisma = db.database.prisma;
  const { email } = await register(app);
  const ended: string[] = [];
  for (let i = 0; i < 7; i++) {
    const s = await login(app, email);
    await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [REFRESH_COOKIE]: s.refresh } });
    ended.push(s.refresh);
  }
  clock.advance(2 * 86400);
  const live = await login(app, email);
  let token = live.refresh;
  for (let i = 0; i < 3; i++) token = refreshCookieOf(await refresh(app, token))!;

  const purged = await app.services.sessions.purge(1, 2, 100);
  t.same(purged, { sessions: 7, refreshTokens: 0 }, 'seven ended sessions, two per batch');
  t.equal(await prisma.session.count(), 1, 'only the live session remains after the purge');
  t.equal(await prisma.refreshToken.count(), 0, 'v2 sessions have no token rows: the counter detects reuse');
  t.equal((await refresh(app, live.refresh)).json().code, 'refresh_token_reused', 'so reuse is still caught');

  // A live session refreshed now and then: its first spent token passes its own expiry and goes.
  const again = await login(app, email);
  token = refreshCookieOf(await refresh(app, again.refresh))!;
  clock.advance(3000);
  token = refreshCookieOf(await refresh(app, token))!;
  clock.advance(3000);
  const second = await app.services.sessions.purge(1);
  t.same(
    second,
    { sessions: 0, refreshTokens: 0 },
    'the session revoked for reuse ended less than a day ago; nothing else has ended',
  );
  t.equal(await prisma.session.count(), 2, 'the revoked session and the new one both remain');
  t.equal((await refresh(app, token)).statusCode, 200, 'the session lives on');
  t.equal(await prisma.auditEvent.count({ where: { type: 'logout' } }), 7, 'the audit history stays');
  t.equal((await refresh(app, ended[0])).json().code, 'refresh_token_invalid', 'a purged token is simply unknown');
});

t.test('the purge limits itself to maxBatches per run', async (t) => {
  const { app, clock } = await buildTestApp(t, { env: { PURGE_AFTER_DAYS: '0' } });
  const { email } = await register(app);
  for (let i = 0; i < 5; i++) {
    const s = await login(app, email);
    await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [REFRESH_COOKIE]: s.refresh } });
  }
  clock.advance(1);
  t.same(
    await app.services.sessions.purge(0, 2, 1),
    { sessions: 2, refreshTokens: 0 },
    'a run limited to one batch purges one batch of two sessions',
  );
  t.same(await app.services.sessions.purge(0, 2, 10), { sessions: 3, refreshTokens: 0 }, 'the next run continues');
});

t.test('a login that checked the old password cannot start a session after the password changed', async (t) => {
  const { app } = await buildTestApp(t);
  const { email, accessToken } = await session(app);
  const meta = { ip: '203.0.113.5', requestId: 'test' };
  // The race, made deterministic: the password is verified, then changed, then the session would start.
  const checked = await app.services.accounts.authenticate(email, PASSWORD, meta);
  const change = await app.inject({
    method: 'POST',
    url: '/auth/password',
    headers: bearer(accessToken),
    payload: { current_password: PASSWORD, new_password: 'the new passphrase' },
  });
  t.equal(change.statusCode, 204, 'the password change is accepted');
  await t.rejects(
    app.services.lifecycle.start(checked.id, { kind: 'password', verifiedHash: checked.passwordHash }, meta),
    {
      name: 'RotationError',
      failure: 'credentials_changed',
    },
    'the session that checked the old password is refused as credentials_changed',
  );
  t.equal((await listSessions(app, accessToken)).json().sessions.length, 1, 'no session was created');
});

t.test('DELETE of one’s own expired session is a 404, like any session that is not live', async (t) => {
  const { app, clock } = await buildTestApp(t, {
    env: { SESSION_IDLE_SECONDS: '600', SESSION_MAX_AGE_SECONDS: '86400' },
  });
  const { email } = await session(app);
  const old = await login(app, email);
  const oldId = ((await listSessions(app, old.accessToken)).json().sessions as { id: string; current: boolean }[]).find(
    (s) => s.current,
  )!.id;
  clock.advance(601);
  const fresh = await login(app, email);
  const res = await app.inject({
    method: 'DELETE',
    url: `/auth/sessions/${oldId}`,
    headers: bearer(fresh.accessToken),
  });
  expectError(t, res, 'not_found');
});
