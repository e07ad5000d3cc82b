// The admin API: who may call it, disabling and deleting accounts, sessions, listing users and the audit
// log with cursors that stay stable while rows are inserted, and browsers kept out.
import t from 'tap';
import { buildTestApp, login, me, PASSWORD, refresh, register, session, uniqueEmail } from '../helper.js';
import { adminSession, bearer, clientToken, introspect, meta, secretClient } from '../authz-fixtures.js';

const backend = secretClient('backend');
const ops = secretClient('ops', 'scope=admin');
const reporting = secretClient('reporting', 'scope=reports:read');
const env = { SERVICE_CLIENTS: [backend.entry, ops.entry, reporting.entry].join(',') };

t.test(
  'a user without the admin role gets 403 insufficient_scope from /admin, with the RFC 6750 challenge',
  async (t) => {
    const { app } = await buildTestApp(t, { env });
    const s = await session(app);
    for (const url of ['/admin/users', `/admin/users/${s.user.id}`, '/admin/audit']) {
      const res = await app.inject({ method: 'GET', url, headers: bearer(s.accessToken) });
      t.equal(res.statusCode, 403, url);
      t.equal(res.json().code, 'insufficient_scope', url);
      t.match(res.headers['www-authenticate'], /error="insufficient_scope".*scope="admin"/, url);
    }
    const none = await app.inject({ method: 'GET', url: '/admin/users' });
    t.equal(none.statusCode, 401, '/admin without a token is refused with 401');
    t.equal(none.json().code, 'missing_token', 'the refusal says missing_token');
    const bad = await app.inject({ method: 'GET', url: '/admin/users', headers: bearer(`${s.accessToken}x`) });
    t.equal(bad.json().code, 'invalid_token', 'a tampered token on /admin is refused as invalid_token');
    // Positive control: the same user once an admin.
    await app.services.roles.grant(s.user.id, 'admin', { kind: 'cli' }, meta);
    t.equal(
      (await app.inject({ method: 'GET', url: '/admin/users', headers: bearer(s.accessToken) })).statusCode,
      200,
      'the same user, once granted admin, is let into /admin/users',
    );
  },
);

t.test('50 requests at once from a non-admin to /admin are all refused, and from an admin all answered', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const s = await session(app);
  const admin = await adminSession(app);
  const [refused, answered] = await Promise.all(
    [s, admin].map((who) =>
      Promise.all(
        Array.from({ length: 25 }, () =>
          app.inject({ method: 'GET', url: '/admin/users?limit=5', headers: bearer(who.accessToken) }),
        ),
      ),
    ),
  );
  t.same(
    [...new Set(refused!.map((r) => r.statusCode))],
    [403],
    'every one of the 25 concurrent non-admin requests is refused with 403',
  );
  t.same(
    [...new Set(answered!.map((r) => r.statusCode))],
    [200],
    'every one of the 25 concurrent admin requests is answered with 200',
  );
});

t.test('a service client token with scope admin may call /admin; one without it may not', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const ok = await app.inject({ method: 'GET', url: '/admin/users', headers: bearer(await clientToken(app, ops)) });
  t.equal(ok.statusCode, 200, 'a client token with scope admin lists users');
  const no = await app.inject({
    method: 'GET',
    url: '/admin/users',
    headers: bearer(await clientToken(app, reporting)),
  });
  t.equal(no.statusCode, 403, 'a client token without scope admin is refused with 403');
  t.equal(no.json().code, 'insufficient_scope', 'the refusal says insufficient_scope');
});

t.test(
  'disabling an account ends its sessions, fails introspection, and refuses login with account_disabled',
  async (t) => {
    const { app } = await buildTestApp(t, { env });
    const admin = await adminSession(app);
    const s = await session(app);
    const other = await login(app, s.email);
    const res = await app.inject({
      method: 'POST',
      url: `/admin/users/${s.user.id}/disable`,
      headers: bearer(admin.accessToken),
    });
    t.equal(res.statusCode, 200, 'the disable is accepted');
    t.same(res.json(), { ended_sessions: 2 }, "both of the user's sessions are reported ended");
    t.equal(
      (await introspect(app, backend, s.accessToken)).json().active,
      false,
      'the access token is no longer active',
    );
    t.equal(
      (await me(app, other.accessToken)).statusCode,
      401,
      "the other session's access token no longer reaches /me",
    );
    t.equal(
      (await refresh(app, s.refresh)).json().code,
      'session_revoked',
      "the disabled account's refresh token is refused as session_revoked",
    );
    const refused = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: s.email, password: PASSWORD },
    });
    t.equal(refused.statusCode, 403, 'the right password on a disabled account is refused with 403');
    t.equal(refused.json().code, 'account_disabled', 'the refusal says account_disabled');
    const wrong = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: s.email, password: 'not the password at all' },
    });
    t.equal(wrong.json().code, 'invalid_credentials', 'without the password, a disabled account looks like any other');
    t.equal(
      (await app.inject({ method: 'GET', url: `/admin/users/${s.user.id}`, headers: bearer(admin.accessToken) })).json()
        .disabled_at !== null,
      true,
      'the admin view shows the account as disabled',
    );

    t.equal(
      (
        await app.inject({
          method: 'POST',
          url: `/admin/users/${s.user.id}/enable`,
          headers: bearer(admin.accessToken),
        })
      ).statusCode,
      204,
      'enabling the account is accepted with 204',
    );
    const back = await login(app, s.email);
    t.equal((await me(app, back.accessToken)).statusCode, 200, 'enabled: login works again');
  },
);

t.test('logins racing a disable: afterwards no session of the account is live', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const admin = await adminSession(app);
  const s = await session(app);
  const logins = Array.from({ length: 49 }, () =>
    app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: s.email, password: PASSWORD },
      remoteAddress: `10.0.${Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 200)}`,
    }),
  );
  const disable = app.inject({
    method: 'POST',
    url: `/admin/users/${s.user.id}/disable`,
    headers: bearer(admin.accessToken),
  });
  const answers = await Promise.all([...logins, disable]);
  t.equal(answers.at(-1)!.statusCode, 200, 'the disable racing 49 logins is accepted');
  for (const r of answers.slice(0, -1))
    t.ok(
      r.statusCode === 200 || r.json().code === 'account_disabled' || r.json().code === 'too_many_requests',
      `login answered ${r.statusCode}`,
    );
  const live = await app.services.database.prisma.session.count({ where: { userId: s.user.id, revokedAt: null } });
  t.equal(live, 0, 'no session of the disabled account is left live');
  t.equal(
    await app.services.database.prisma.auditEvent.count({ where: { userId: s.user.id, type: 'account_disabled' } }),
    1,
    'the disable is audited exactly once',
  );
});

t.test('deleting an account ends its sessions and keeps its audit rows by user id, without the email', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const admin = await adminSession(app);
  const s = await session(app);
  const res = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${s.user.id}`,
    headers: bearer(admin.accessToken),
  });
  t.equal(res.statusCode, 204, 'the delete is accepted with 204');
  t.equal((await me(app, s.accessToken)).statusCode, 401, "the deleted user's access token no longer reaches /me");
  t.equal(
    (await introspect(app, backend, s.accessToken)).json().active,
    false,
    "the deleted user's access token no longer introspects as active",
  );
  t.equal(
    (await app.inject({ method: 'GET', url: `/admin/users/${s.user.id}`, headers: bearer(admin.accessToken) })).json()
      .code,
    'not_found',
    'the deleted user is no longer found by the admin API',
  );
  const audit = await app.inject({
    method: 'GET',
    url: `/admin/audit?user_id=${s.user.id}`,
    headers: bearer(admin.accessToken),
  });
  const types = audit.json().events.map((e: { type: string }) => e.type);
  t.same(types, ['account_deleted', 'login_ok', 'register'], 'newest first, still under the user id');
  t.notMatch(audit.body, s.email, 'no audit row holds the email');
  t.equal(
    (
      await app.inject({ method: 'DELETE', url: `/admin/users/${s.user.id}`, headers: bearer(admin.accessToken) })
    ).json().code,
    'not_found',
    'deleting the account again answers not_found',
  );
});

t.test("an admin lists a user's sessions and ends one of them", async (t) => {
  const { app } = await buildTestApp(t, { env });
  const admin = await adminSession(app);
  const s = await session(app);
  const second = await login(app, s.email);
  const list = await app.inject({
    method: 'GET',
    url: `/admin/users/${s.user.id}/sessions`,
    headers: bearer(admin.accessToken),
  });
  t.equal(list.json().sessions.length, 2, "the admin sees both of the user's sessions");
  t.same(
    Object.keys(list.json().sessions[0]).sort(),
    ['created', 'expires', 'id', 'ip', 'last_used', 'user_agent'],
    "a session reads as in the user's own list (GET /auth/sessions), without `current`",
  );
  const sid = (await app.services.accessTokens.verify(second.accessToken)).sid;
  const end = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${s.user.id}/sessions/${sid}`,
    headers: bearer(admin.accessToken),
  });
  t.equal(end.statusCode, 204, 'ending the session is accepted with 204');
  t.equal(
    (await me(app, second.accessToken)).statusCode,
    401,
    "the ended session's access token no longer reaches /me",
  );
  t.equal((await me(app, s.accessToken)).statusCode, 200, 'the other session stays');
  const again = await app.inject({
    method: 'DELETE',
    url: `/admin/users/${s.user.id}/sessions/${sid}`,
    headers: bearer(admin.accessToken),
  });
  t.equal(again.json().code, 'not_found', 'ending the same session again answers not_found');
});

t.test('the user list pages by cursor, searches by email prefix, and stays stable while users register', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const admin = await adminSession(app);
  const tag = `p${Date.now().toString(36)}`;
  const before: string[] = [];
  for (let i = 0; i < 12; i++)
    before.push((await register(app, `${tag}-${String(i).padStart(2, '0')}@example.com`)).email);
  const seen: string[] = [];
  let cursor: string | null = null;
  let page = 0;
  do {
    // While paging, 10 more users register at once, half sorting before the cursor and half after.
    const inserting = Promise.all(
      Array.from({ length: 10 }, (_, i) => register(app, `${tag}-${i % 2 ? 'a' : '0'}${page}${i}-${uniqueEmail()}`)),
    );
    const url: string = `/admin/users?email_prefix=${tag}-&limit=5${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await app.inject({ method: 'GET', url, headers: bearer(admin.accessToken) });
    await inserting;
    t.equal(res.statusCode, 200, `page ${page}: the user list is answered while users register`);
    const body = res.json() as { users: { email: string }[]; next_cursor: string | null };
    seen.push(...body.users.map((u) => u.email));
    cursor = body.next_cursor;
    page++;
  } while (cursor && page < 50);
  t.equal(new Set(seen).size, seen.length, 'no user is listed twice');
  t.same(
    seen.filter((e) => before.includes(e)),
    before,
    'every user that existed throughout is listed, in email order',
  );
  t.same([...seen].sort(), seen, 'ordered by email');
  t.ok(
    seen.every((e) => e.startsWith(`${tag}-`)),
    'only the prefix',
  );
});

t.test('the audit log filters by user, type and time range, newest first, by cursor', async (t) => {
  const { app, clock } = await buildTestApp(t, { env });
  const admin = await adminSession(app);
  const s = await session(app);
  const from = clock.now().toISOString();
  for (let i = 0; i < 5; i++) {
    clock.advance(10);
    await login(app, s.email);
  }
  const to = clock.now().toISOString();
  clock.advance(10);
  await login(app, s.email);
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/admin/audit?user_id=${s.user.id}&event_type=login_ok&from=${from}&to=${to}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await app.inject({ method: 'GET', url, headers: bearer(admin.accessToken) });
    t.equal(res.statusCode, 200, `page from cursor ${cursor ?? '(none, the first)'}: the audit page is answered`);
    const body = res.json() as {
      events: { id: string; type: string; user_id: string; created_at: string }[];
      next_cursor: string | null;
    };
    for (const e of body.events) {
      t.equal(e.type, 'login_ok', `event ${e.id}: only login_ok events are listed`);
      t.equal(e.user_id, s.user.id, `event ${e.id}: only the filtered user's events are listed`);
      t.ok(e.created_at >= from && e.created_at < to, 'within [from, to)');
    }
    ids.push(...body.events.map((e) => e.id));
    cursor = body.next_cursor;
  } while (cursor);
  t.equal(ids.length, 5, 'the login at `from` and the next four; the one at `to` is excluded, as is the one after');
  t.same(
    [...ids].sort((a, b) => Number(BigInt(b) - BigInt(a))),
    ids,
    'newest first',
  );
});

t.test('browsers may not call /admin from another origin, and get no CORS grant even from CORS_ORIGINS', async (t) => {
  const { app } = await buildTestApp(t, { env: { ...env, CORS_ORIGINS: 'https://app.example.com' } });
  const admin = await adminSession(app);
  const cross = await app.inject({
    method: 'GET',
    url: '/admin/users',
    headers: { ...bearer(admin.accessToken), origin: 'https://app.example.com', 'sec-fetch-site': 'cross-site' },
  });
  t.equal(cross.statusCode, 403, 'a cross-site admin request is refused with 403');
  t.equal(cross.json().code, 'csrf_rejected', 'the refusal says csrf_rejected');
  t.notOk(cross.headers['access-control-allow-origin'], 'the refused cross-site request gets no CORS grant');
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/admin/users',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
  });
  t.notOk(preflight.headers['access-control-allow-origin'], 'the preflight for /admin gets no CORS grant');
  const same = await app.inject({
    method: 'GET',
    url: '/admin/users',
    headers: { ...bearer(admin.accessToken), 'sec-fetch-site': 'same-origin' },
  });
  t.equal(same.statusCode, 200, 'same-origin tools and non-browser clients are fine');
});
