// Refresh tokens from before v2 (43 characters, a row in refresh_tokens) are retired (decision 0007): the
// last one expired REFRESH_TOKEN_TTL_SECONDS after v2 was deployed. One presented now gets a clear refusal
// and changes nothing; the purge still empties the table. Legacy sessions are made here the way the old code
// made them: a session row without a counter and a token row holding the SHA-256 of the token.
import t from 'tap';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hashClientSecret } from '../../src/domain/tokens/service-clients.js';
import {
  buildTestApp,
  expectError,
  ManualClock,
  refresh,
  refreshCookieOf,
  register,
  type TestApp,
  type TestDatabase,
} from '../helper.js';

const hashRefreshToken = (token: string) => createHash('sha256').update(token).digest('hex');

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

t.test('a legacy token is refused as invalid, says to log in again, and leaves its session alone', async (t) => {
  const clock = new ManualClock();
  const { app, db } = await buildTestApp(t, { clock });
  const legacy = await legacySession(app, db, clock.now());
  const [token] = legacy.tokens as [string];
  t.equal(token.length, 43, 'the legacy token has the old 43-character shape');

  const res = await refresh(app, token);
  expectError(t, res, 'refresh_token_invalid', 'a legacy refresh token');
  t.match(res.json().message, /log in again/, 'the answer tells the client what to do: log in again');
  t.equal(refreshCookieOf(res), undefined, 'no new refresh cookie is set');
  t.ok(
    res.cookies.some((c) => c.value === '' && c.name.endsWith('tessera_refresh')),
    'the worthless cookie is cleared, so the client stops sending it',
  );
  const row = await db.database.prisma.session.findUniqueOrThrow({ where: { id: legacy.sessionId } });
  t.equal(row.revokedAt, null, 'the refusal ends nothing: it is not taken for reuse');
  t.equal(row.refreshCounter, null, 'the session is not moved onto v2');
  t.equal(
    await db.database.prisma.auditEvent.count({ where: { sessionId: legacy.sessionId } }),
    0,
    'no refresh or reuse is recorded for the legacy token',
  );
});

t.test('50 parallel refreshes of one legacy token are all refused the same way', async (t) => {
  const clock = new ManualClock();
  const { app, db } = await buildTestApp(t, { clock });
  const legacy = await legacySession(app, db, clock.now(), 3);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(app, legacy.tokens[i % 3])));
  for (const r of results) expectError(t, r, 'refresh_token_invalid', 'a legacy token in a burst');
  const row = await db.database.prisma.session.findUniqueOrThrow({ where: { id: legacy.sessionId } });
  t.equal(row.revokedAt, null, 'a burst of old and spent legacy tokens ends nothing');
});

t.test('legacy tokens: introspection says inactive, revocation and logout do nothing', async (t) => {
  const clock = new ManualClock();
  const { app, db } = await buildTestApp(t, { clock, env: CLIENTS });
  const a = await legacySession(app, db, clock.now());
  t.same(
    (await oauth(app, 'introspect', a.tokens[0]!)).json(),
    { active: false },
    'introspection reports a legacy token inactive',
  );
  t.equal(
    (await oauth(app, 'revoke', a.tokens[0]!)).statusCode,
    200,
    'revoking a legacy token is answered 200, like any unknown token (RFC 7009)',
  );
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/logout', cookies: { tessera_refresh: a.tokens[0]! } })).statusCode,
    204,
    'logout with a legacy token answers 204',
  );
  const row = await db.database.prisma.session.findUniqueOrThrow({ where: { id: a.sessionId } });
  t.equal(row.revokedAt, null, 'a legacy token names no session any more: nothing ended');
});

t.test('the purge deletes legacy rows as they expire, so the table empties', async (t) => {
  const clock = new ManualClock();
  const { app, db } = await buildTestApp(t, { clock });
  await legacySession(app, db, clock.now(), 3);
  await legacySession(app, db, clock.now(), 2);
  t.same(await app.services.sessions.purge(7), { sessions: 0, refreshTokens: 0 }, 'nothing has expired yet');
  clock.advance(7 * 86400 + 1);
  t.same(await app.services.sessions.purge(7), { sessions: 0, refreshTokens: 5 }, 'every legacy row past its expiry');
  t.equal(await db.database.prisma.refreshToken.count(), 0, 'no legacy token rows remain after the purge');
});
