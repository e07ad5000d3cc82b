// The rollout: refresh tokens issued before v2 (43 characters, a row in refresh_tokens) keep working until
// their next refresh, which moves the session onto v2; the reuse rule and the grace window hold for them.
// Legacy sessions are made here the way the old code made them: a session row without a counter and a
// token row holding the SHA-256 of the token.
import t from 'tap';
import { randomBytes, randomUUID } from 'node:crypto';
import { hashClientSecret } from '../../src/domain/tokens/service-clients.js';
import { hashRefreshToken } from '../../src/domain/sessions/legacy-refresh.js';
import {
  buildTestApp,
  ManualClock,
  me,
  refresh,
  refreshCookieOf,
  register,
  type TestApp,
  type TestDatabase,
} from '../helper.js';

const SECRET = 'k3Jq0f8Zr6m2VbT1yX9wH4sPdLcN7aEuGiO5qRtYzA0';
const CLIENTS = { SERVICE_CLIENTS: `orders:${hashClientSecret(SECRET)}` };
const oauth = (app: TestApp, what: 'introspect' | 'revoke', token: string) =>
  app.inject({
    method: 'POST',
    url: `/oauth/${what}`,
    headers: {
      authorization: `Basic ${Buffer.from(`orders:${SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({ token }).toString(),
  });

/** A session and a chain of legacy tokens, as the old code left them: all but the last spent. */
async function legacySession(app: TestApp, db: TestDatabase, now: Date, chainLength = 1) {
  const { user } = await register(app);
  const prisma = db.database.prisma;
  const sessionId = randomUUID();
  const expiresAt = new Date(now.getTime() + 7 * 86400_000);
  await prisma.session.create({
    data: { id: sessionId, userId: user.id, createdAt: now, lastUsedAt: now, expiresAt, ip: '127.0.0.1' },
  });
  const tokens: string[] = [];
  let parentId: string | null = null;
  for (let i = 0; i < chainLength; i++) {
    const token = randomBytes(32).toString('base64url');
    const id = randomUUID();
    const last = i === chainLength - 1;
    await prisma.refreshToken.create({
      data: {
        id,
        sessionId,
        parentId,
        tokenHash: hashRefreshToken(token),
        issuedAt: now,
        expiresAt,
        spentAt: last ? null : now,
      },
    });
    tokens.push(token);
    parentId = id;
  }
  return { userId: user.id, sessionId, tokens };
}

t.test('a legacy token refreshes once more and comes back as v2; the session is then on v2', async (t) => {
  const clock = new ManualClock();
  const { app, db, config } = await buildTestApp(t, { clock });
  const legacy = await legacySession(app, db, clock.now());
  const [token] = legacy.tokens as [string];
  t.equal(token.length, 43, 'the legacy token has the old 43-character shape');

  const res = await refresh(app, token);
  t.equal(res.statusCode, 200, 'the deployed user stays logged in');
  const v2 = refreshCookieOf(res)!;
  t.equal(v2.length, 82, 'the successor is a v2 token');
  t.equal(
    (await me(app, res.json().access_token)).statusCode,
    200,
    'the access token from the legacy refresh opens /auth/me',
  );
  const row = await db.database.prisma.session.findUniqueOrThrow({ where: { id: legacy.sessionId } });
  t.equal(row.refreshCounter, 1n, 'the session now counts v2 refreshes');
  t.equal(
    await db.database.prisma.refreshToken.count({ where: { sessionId: legacy.sessionId, spentAt: null } }),
    0,
    'no legacy token of the session is live',
  );

  const second = await refresh(app, token);
  t.equal(second.statusCode, 200, 'a second tab within the grace window');
  t.equal(refreshCookieOf(second), v2, 'gets the same v2 token');

  clock.advance(config.refreshReuseGrace);
  const next = await refresh(app, v2);
  t.equal(next.statusCode, 200, 'the v2 token refreshes on the fast path');
  t.equal(refreshCookieOf(next)!.length, 82, 'the next successor is a v2 token too');

  clock.advance(config.refreshReuseGrace);
  const reuse = await refresh(app, token);
  t.equal(reuse.statusCode, 401, 'the legacy token again, after the window');
  t.equal(reuse.json().code, 'refresh_token_reused', 'the stale legacy token is refused as reused');
  t.equal((await refresh(app, refreshCookieOf(next))).json().code, 'session_revoked', 'the whole session ended');
  t.equal(
    (await db.database.prisma.session.findUniqueOrThrow({ where: { id: legacy.sessionId } })).revokedReason,
    'refresh_token_reused',
    'the session is revoked for refresh-token reuse',
  );
});

t.test('the reuse rule holds for a legacy chain: an old spent legacy token ends the session', async (t) => {
  const { app, db } = await buildTestApp(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const legacy = await legacySession(app, db, new Date(Date.now() - 60_000), 3);
  const [oldest, , live] = legacy.tokens as [string, string, string];
  const reuse = await refresh(app, oldest);
  t.equal(reuse.statusCode, 401, 'the spent legacy token is refused');
  t.equal(reuse.json().code, 'refresh_token_reused', 'the spent legacy token is refused as reused');
  t.equal((await refresh(app, live)).json().code, 'session_revoked', 'the live legacy token died with the session');
  t.equal(
    await db.database.prisma.auditEvent.count({
      where: { type: 'refresh_reuse_detected', sessionId: legacy.sessionId },
    }),
    1,
    'the legacy reuse is audited once',
  );
});

t.test('50 parallel refreshes of one legacy token: one v2 successor for all, the session moves once', async (t) => {
  const clock = new ManualClock();
  const { app, db } = await buildTestApp(t, { clock });
  const legacy = await legacySession(app, db, clock.now());
  const results = await Promise.all(Array.from({ length: 50 }, () => refresh(app, legacy.tokens[0])));
  t.same(
    results.map((r) => r.statusCode),
    Array(50).fill(200),
    'every parallel refresh of the legacy token is accepted',
  );
  t.equal(new Set(results.map((r) => refreshCookieOf(r))).size, 1, 'all 50 racers got the same v2 successor');
  const row = await db.database.prisma.session.findUniqueOrThrow({ where: { id: legacy.sessionId } });
  t.equal(row.refreshCounter, 1n, 'the session moved onto v2 once');
  t.equal(row.revokedAt, null, 'no racer was taken for a thief');
});

t.test('legacy tokens: introspection, revocation and logout keep their behaviour', async (t) => {
  const clock = new ManualClock();
  const { app, db } = await buildTestApp(t, { clock, env: CLIENTS });
  const a = await legacySession(app, db, clock.now());
  t.match(
    (await oauth(app, 'introspect', a.tokens[0]!)).json(),
    {
      active: true,
      token_type: 'refresh_token',
      sub: a.userId,
      sid: a.sessionId,
    },
    'introspection reports the legacy token active, with its user and session',
  );
  t.equal((await oauth(app, 'revoke', a.tokens[0]!)).statusCode, 200, 'revoking the legacy token is accepted');
  t.same(
    (await oauth(app, 'introspect', a.tokens[0]!)).json(),
    { active: false },
    'introspection reports the revoked legacy token inactive',
  );
  t.equal(
    (await refresh(app, a.tokens[0])).json().code,
    'session_revoked',
    'the revoked legacy token no longer refreshes',
  );

  const b = await legacySession(app, db, clock.now());
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/logout', cookies: { tessera_refresh: b.tokens[0]! } })).statusCode,
    204,
    'logout with a legacy token answers 204',
  );
  t.equal(
    (await refresh(app, b.tokens[0])).json().code,
    'session_revoked',
    'the logged-out legacy token no longer refreshes',
  );
  t.equal(
    (await db.database.prisma.session.findUniqueOrThrow({ where: { id: b.sessionId } })).revokedReason,
    'logout',
    'the session is revoked for logout',
  );
});

t.test('the purge deletes legacy rows as they expire, so the table empties', async (t) => {
  const clock = new ManualClock();
  const { app, db } = await buildTestApp(t, { clock });
  await legacySession(app, db, clock.now(), 3);
  const moved = await legacySession(app, db, clock.now(), 2);
  t.equal((await refresh(app, moved.tokens[1])).statusCode, 200, 'the second legacy token of the chain refreshes');
  t.same(await app.services.sessions.purge(7), { sessions: 0, refreshTokens: 0 }, 'nothing has expired yet');
  clock.advance(7 * 86400 + 1);
  t.same(await app.services.sessions.purge(7), { sessions: 0, refreshTokens: 5 }, 'every legacy row past its expiry');
  t.equal(await db.database.prisma.refreshToken.count(), 0, 'no legacy token rows remain after the purge');
});
