// Refresh tokens v2 (a counter on the session and a MAC): one statement per refresh, no row per refresh,
// one live token per session whatever the concurrency, a dump can't mint tokens, MAC key rotation, and the
// lean /auth/me and introspection. Legacy tokens have their own file (refresh-legacy.test.ts).
import t from 'tap';
import { createHmac, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { hashClientSecret } from '../../src/domain/tokens/service-clients.js';
import { ensureMacKey, pruneMacKeys, readMacKeys, rotateMacKey } from '../../src/domain/keys/refresh-keys.js';
import { macKeyPolicy } from '../../src/domain/keys/key-policies.js';
import {
  buildTestApp,
  createTestDatabase,
  ManualClock,
  me,
  recordStatements,
  refresh,
  refreshCookieOf,
  session,
  tempDir,
  type TestApp,
  type TestDatabase,
} from '../helper.js';

const SECRET = 'k3Jq0f8Zr6m2VbT1yX9wH4sPdLcN7aEuGiO5qRtYzA0';
const CLIENTS = { SERVICE_CLIENTS: `orders:${hashClientSecret(SECRET)}` };
const introspect = (app: TestApp, token: string) =>
  app.inject({
    method: 'POST',
    url: '/oauth/introspect',
    headers: {
      authorization: `Basic ${Buffer.from(`orders:${SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({ token }).toString(),
  });

/** Builds a v2 token by hand, as someone holding (or guessing) a MAC key would. */
function forge(keyId: string, secret: Buffer, sessionId: string, counter: bigint): string {
  const body = Buffer.alloc(29);
  body[0] = 2;
  body.write(keyId, 1, 'hex');
  Buffer.from(sessionId.replace(/-/g, ''), 'hex').copy(body, 5);
  body.writeBigUInt64BE(counter, 21);
  return Buffer.concat([body, createHmac('sha256', secret).update(body).digest()]).toString('base64url');
}

const keyIdOf = (token: string) => Buffer.from(token, 'base64url').subarray(1, 5).toString('hex');

async function sessionOf(db: TestDatabase, userId: string) {
  return db.database.prisma.session.findFirstOrThrow({ where: { userId }, orderBy: { createdAt: 'desc' } });
}

t.test('one round trip per successful refresh, and no transaction', async (t) => {
  const { app, db } = await buildTestApp(t);
  const s = await session(app);
  const warm = await refresh(app, s.refresh); // first use of each statement, out of the count
  t.equal(warm.statusCode, 200, 'the warm-up refresh is accepted');

  const rec = recordStatements(db);
  const res = await refresh(app, refreshCookieOf(warm));
  const statements = rec.stop();
  t.equal(res.statusCode, 200, 'the counted refresh is accepted');
  t.equal(statements.length, 1, `one statement: ${statements.map((q) => q.slice(0, 40)).join(' | ')}`);
  t.notOk(
    statements.some((q) => /^(BEGIN|SET TRANSACTION|START)/i.test(q)),
    'no interactive transaction',
  );
  t.match(statements[0], /UPDATE sessions/, 'the compare-and-swap on the session row');
  t.equal(
    await db.database.prisma.auditEvent.count({ where: { type: 'refresh', userId: s.user.id } }),
    2,
    'the audit row rode along',
  );
});

t.test('GET /auth/me and introspection are one statement each', async (t) => {
  const { app, db } = await buildTestApp(t, { env: CLIENTS });
  const s = await session(app);
  t.equal((await me(app, s.accessToken)).statusCode, 200, 'GET /auth/me accepts the access token (warm-up)');
  t.equal(
    (await introspect(app, s.accessToken)).json().active,
    true,
    'introspection finds the access token active (warm-up)',
  );
  t.equal(
    (await introspect(app, s.refresh)).json().active,
    true,
    'introspection finds the refresh token active (warm-up)',
  );

  for (const [name, call] of [
    [
      'GET /auth/me',
      async () => t.equal((await me(app, s.accessToken)).statusCode, 200, 'GET /auth/me accepts the access token'),
    ],
    [
      'introspection of an access token',
      async () =>
        t.equal(
          (await introspect(app, s.accessToken)).json().active,
          true,
          'introspection finds the access token active',
        ),
    ],
    [
      'introspection of a refresh token',
      async () =>
        t.equal((await introspect(app, s.refresh)).json().active, true, 'introspection finds the refresh token active'),
    ],
  ] as const) {
    const rec = recordStatements(db);
    await call();
    const statements = rec.stop();
    t.equal(statements.length, 1, `${name}: one statement`);
    t.notOk(
      statements.some((q) => /^BEGIN/i.test(q)),
      `${name}: no transaction`,
    );
  }
});

t.test('refreshing writes no rows but the audit row: 20 refreshes leave the row counts as they were', async (t) => {
  const { app, db } = await buildTestApp(t);
  const s = await session(app);
  const prisma = db.database.prisma;
  const before = { sessions: await prisma.session.count(), tokens: await prisma.refreshToken.count() };
  let token = s.refresh;
  for (let i = 0; i < 20; i++) {
    const res = await refresh(app, token);
    t.equal(res.statusCode, 200, `refresh ${i + 1} of 20 is accepted`);
    token = refreshCookieOf(res)!;
  }
  t.same(
    { sessions: await prisma.session.count(), tokens: await prisma.refreshToken.count() },
    before,
    '20 refreshes add no session or refresh-token rows',
  );
  t.same(before, { sessions: 1, tokens: 0 }, 'the session is one row and no refresh-token rows exist');
  t.equal((await sessionOf(db, s.user.id)).refreshCounter, 20n, 'the session counter counted all 20 refreshes');
});

t.test(
  '50 parallel refreshes of one cookie: all get the same successor; after the window exactly one token works',
  async (t) => {
    const clock = new ManualClock();
    const { app, db, config } = await buildTestApp(t, { clock, env: CLIENTS });
    const s = await session(app);
    const results = await Promise.all(Array.from({ length: 50 }, () => refresh(app, s.refresh)));
    t.same(
      results.map((r) => r.statusCode),
      Array(50).fill(200),
      'every tab stays logged in',
    );
    const successors = new Set(results.map((r) => refreshCookieOf(r)!));
    t.equal(successors.size, 1, 'one successor, handed to all 50');
    const [next] = [...successors] as [string];
    t.equal((await sessionOf(db, s.user.id)).refreshCounter, 1n, 'the counter moved once');
    t.equal(
      await db.database.prisma.auditEvent.count({ where: { type: 'refresh', reason: 'grace', userId: s.user.id } }),
      49,
      'the 49 refreshes after the first are audited as grace refreshes',
    );

    clock.advance(config.refreshReuseGrace + 2); // 12 s later, as in the issue
    const active = [];
    for (const token of [s.refresh, next]) if ((await introspect(app, token)).json().active) active.push(token);
    t.same(active, [next], 'introspection: only the successor is live');

    const used = await refresh(app, next);
    t.equal(used.statusCode, 200, 'the one live token works');
    const reuse = await refresh(app, s.refresh);
    t.equal(reuse.statusCode, 401, 'the token all 50 presented is refused');
    t.equal(reuse.json().code, 'refresh_token_reused', 'the stale token is refused as reused');
    t.equal((await refresh(app, refreshCookieOf(used))).json().code, 'session_revoked', 'and the session is over');
    t.equal(
      (await sessionOf(db, s.user.id)).revokedReason,
      'refresh_token_reused',
      'the session is revoked for refresh-token reuse',
    );
  },
);

t.test('two instances on one database, 50-way reuse: the session is revoked once, committed, audited', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const keysDir = await tempDir(t);
  const clock = new ManualClock();
  const { app: a, config } = await buildTestApp(t, { db, keysDir, clock });
  const { app: b } = await buildTestApp(t, { db: { ...db, database: await db.openAnother() }, keysDir, clock });

  t.test('every racer presents an old token', async (t) => {
    const s = await session(a);
    const r = await refresh(b, s.refresh);
    t.equal(r.statusCode, 200, 'the first refresh on the other instance is accepted');
    clock.advance(config.refreshReuseGrace + 1);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(i % 2 ? a : b, s.refresh)));
    t.same(
      results.map((x) => x.statusCode),
      Array(50).fill(401),
      'every racer presenting the old token is refused',
    );
    const codes = results.map((x) => x.json().code as string);
    t.equal(codes.filter((c) => c === 'refresh_token_reused').length, 1, 'one racer ends the session');
    t.equal(codes.filter((c) => c === 'session_revoked').length, 49, 'the others find it ended');
    t.equal(
      (await sessionOf(db, s.user.id)).revokedReason,
      'refresh_token_reused',
      'the session is revoked for refresh-token reuse',
    );
    t.equal(
      await db.database.prisma.auditEvent.count({ where: { type: 'refresh_reuse_detected', userId: s.user.id } }),
      1,
      'the reuse is audited exactly once across both instances',
    );
    t.equal((await refresh(a, refreshCookieOf(r))).json().code, 'session_revoked', 'the newest token died with it');
  });

  t.test('the live token and an old one race: no revoked session keeps a live token', async (t) => {
    const s = await session(a);
    const live = refreshCookieOf(await refresh(a, s.refresh))!;
    clock.advance(config.refreshReuseGrace + 1);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => refresh(i % 2 ? a : b, i % 4 < 2 ? live : s.refresh)),
    );
    t.notOk(
      results.some((x) => x.statusCode >= 500),
      'no 5xx',
    );
    t.equal(
      (await sessionOf(db, s.user.id)).revokedReason,
      'refresh_token_reused',
      'the race with an old token revokes the session for reuse',
    );
    for (const token of new Set(results.filter((x) => x.statusCode === 200).map((x) => refreshCookieOf(x)!))) {
      t.equal((await refresh(b, token)).json().code, 'session_revoked', 'a successor won in the race is dead too');
    }
  });
});

t.test('a database dump alone cannot mint a refresh token', async (t) => {
  const { app, db, keysDir } = await buildTestApp(t);
  const s = await session(app);
  const row = await sessionOf(db, s.user.id);
  const dump: string[] = [];
  for (const table of ['users', 'sessions', 'refresh_tokens', 'audit_events', '_prisma_migrations']) {
    const rows = await db.database.sql.query<{ r: unknown }>(`SELECT row_to_json(x)::text AS r FROM ${table} x`, []);
    dump.push(...rows.map((x) => String(x.r)));
  }
  const text = dump.join('\n');
  t.ok(text.includes(row.id), 'the dump holds the session id and its counter');

  const [key] = await readMacKeys(keysDir);
  t.notOk(
    text.includes(key!.secret.toString('base64url')) || text.includes(key!.secret.toString('hex')),
    'the MAC key is not in the database',
  );
  const user = await db.database.prisma.user.findUniqueOrThrow({ where: { id: s.user.id } });
  const guesses: [string, Buffer][] = [
    ['a random key under the real key id', randomBytes(32)],
    ['the password hash as the key', Buffer.from(user.passwordHash!)],
    ['the session id as the key', Buffer.from(row.id)],
    ['an empty key', Buffer.alloc(0)],
  ];
  for (const [name, secret] of guesses) {
    const res = await refresh(app, forge(key!.id, secret, row.id, row.refreshCounter!));
    t.equal(res.statusCode, 401, name);
    t.equal(res.json().code, 'refresh_token_invalid', name);
  }
  const unknownKey = forge('00000000', key!.secret, row.id, row.refreshCounter!);
  t.equal(
    (await refresh(app, unknownKey)).json().code,
    'refresh_token_invalid',
    'the real key under an id that is not ours',
  );
  t.equal((await sessionOf(db, s.user.id)).revokedAt, null, 'forgeries end nothing');
  // Positive control: the same recipe with the key from KEYS_DIR is a real token.
  t.equal(
    forge(key!.id, key!.secret, row.id, 0n),
    s.refresh,
    'with the key file, the recipe reproduces the real token',
  );
});

t.test('tampered v2 tokens are refused as invalid', async (t) => {
  const { app, db } = await buildTestApp(t);
  const s = await session(app);
  const other = await session(app);
  const raw = Buffer.from(s.refresh, 'base64url');
  const flip = (i: number) => {
    const c = Buffer.from(raw);
    c[i]! ^= 1;
    return c.toString('base64url');
  };
  const splice = Buffer.from(raw);
  Buffer.from(other.refresh, 'base64url').copy(splice, 5, 5, 21); // the other session's id, this token's tag
  const cases: [string, string][] = [
    ['version byte changed', flip(0)],
    ['key id changed', flip(2)],
    ['session id changed', flip(10)],
    ['counter changed', flip(28)],
    ['tag changed', flip(60)],
    ['another session spliced in', splice.toString('base64url')],
    [
      'a counter ahead of the session',
      (() => {
        const c = Buffer.from(raw);
        c.writeBigUInt64BE(5n, 21);
        return c.toString('base64url');
      })(),
    ],
    [
      'a second spelling of the last character',
      s.refresh.slice(0, -1) + String.fromCharCode(s.refresh.charCodeAt(81) ^ 1),
    ],
  ];
  for (const [name, token] of cases) {
    if (token === s.refresh) continue;
    const res = await refresh(app, token);
    t.equal(res.statusCode, 401, name);
    t.equal(res.json().code, 'refresh_token_invalid', name);
  }
  t.equal((await sessionOf(db, s.user.id)).revokedAt, null, 'the tampered tokens leave the real session unrevoked');
  t.equal((await refresh(app, s.refresh)).statusCode, 200, 'the real token still works');
});

t.test('MAC key rotation logs nobody out; new tokens use the new key once every instance has it', async (t) => {
  const clock = new ManualClock();
  const { app, keysDir, config } = await buildTestApp(t, { clock, env: { KEYS_RELOAD_SECONDS: '5' } });
  const s = await session(app);
  const idle = await session(app); // not refreshed until after the switch
  const oldKey = keyIdOf(s.refresh);

  clock.advance(1); // key files are named to the second: the new one is visibly newer
  const newKey = await rotateMacKey(keysDir, clock.now());
  await app.reloadKeys();
  const before = refreshCookieOf(await refresh(app, s.refresh))!;
  t.equal(keyIdOf(before), oldKey, 'the new key waits until every instance has read it');

  clock.advance(2 * 5 + 1);
  await app.reloadKeys();
  const after = await refresh(app, before);
  t.equal(after.statusCode, 200, 'a token made with the old key still refreshes');
  t.equal(keyIdOf(refreshCookieOf(after)!), newKey, 'and its successor uses the new key');
  t.equal(keyIdOf((await session(app)).refresh), newKey, 'so do new logins');
  t.equal((await refresh(app, idle.refresh)).statusCode, 200, 'an untouched session made with the old key still works');

  const policy = macKeyPolicy(config);
  t.same(await pruneMacKeys(keysDir, clock.now(), policy), [], 'the old key stays while its tokens may live');
  clock.advance(policy.tokenLifetimeSeconds + policy.reloadSeconds + 61);
  t.same(await pruneMacKeys(keysDir, clock.now(), policy), [oldKey], 'then prune deletes it');
  t.same(
    (await readdir(keysDir)).filter((f) => f.startsWith('refresh-')).length,
    1,
    'one refresh MAC key file remains after pruning',
  );
});

t.test(
  'the first MAC key: made once when two instances start at once; a read-only folder without one is a KeyError',
  async (t) => {
    const dir = await tempDir(t);
    const now = new Date();
    const made = await Promise.all([ensureMacKey(dir, now), ensureMacKey(dir, now), ensureMacKey(dir, now)]);
    t.equal(made.filter(Boolean).length, 1, 'one key generated');
    const keys = await readMacKeys(dir);
    t.equal(keys.length, 1, 'one MAC key is on disk after three concurrent starts');
    const file = path.join(dir, keys[0]!.file);
    t.equal((await stat(file)).mode & 0o777, 0o600, 'mode 0600');
    t.equal(
      Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url').length,
      32,
      'the MAC key is 32 random bytes',
    );
    // /sys refuses new entries (EPERM), as a read-only mount does.
    await t.rejects(
      ensureMacKey('/sys/tessera-keys-test', now),
      {
        name: 'KeyError',
        message: /npm run keys -- rotate-refresh/,
      },
      'a read-only keys folder without a MAC key refuses to start, naming the command that makes one',
    );
  },
);
