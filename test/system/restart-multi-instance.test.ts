// State that must outlive a process, and several instances sharing one database.
import t from 'tap';
import { rm } from 'node:fs/promises';
import { buildApp } from '../../src/app.js';
import { KeyError, KeyStore } from '../../src/domain/keys/keys.js';
import {
  buildTestApp,
  createTestDatabase,
  ManualClock,
  login,
  me,
  postgresUrl,
  refresh,
  refreshCookieOf,
  session,
  tempDir,
  testConfig,
} from '../helper.js';

t.test('a restart keeps users, sessions and keys (PGlite directory on disk, or PostgreSQL)', async (t) => {
  const dataDir = await tempDir(t, 'tessera-data-');
  const keysDir = await tempDir(t, 'tessera-keys-');
  const pgDb = postgresUrl ? await createTestDatabase() : undefined;
  if (pgDb) t.teardown(() => pgDb.close());
  const url = pgDb ? pgDb.url : `pglite:${dataDir}`;
  const config = testConfig({ DATABASE_URL: url, KEYS_DIR: keysDir, REFRESH_REUSE_GRACE_SECONDS: '0' });

  const first = await buildApp({ config });
  const s = await session(first);
  const kid = first.services.keys.signing.kid;
  await first.close();

  const second = await buildApp({ config });
  t.teardown(() => second.close());
  t.equal(second.services.keys.signing.kid, kid, 'same signing key');
  t.equal((await me(second, s.accessToken)).statusCode, 200, 'an access token from before the restart still verifies');
  const r = await refresh(second, s.refresh);
  t.equal(r.statusCode, 200, 'the session survived');
  t.equal(
    (await refresh(second, s.refresh)).json().code,
    'refresh_token_reused',
    'and so did the spent state of its tokens',
  );
  t.ok(await login(second, s.email), 'the user can log in');
});

t.test('keys', async (t) => {
  const open = (dir: string) =>
    KeyStore.open(dir, { clock: new ManualClock(new Date()), accessTokenTtlSeconds: 900, reloadSeconds: 30 });

  t.test('in production a missing key is a boot error, not a new key', async (t) => {
    const keysDir = await tempDir(t);
    const db = await createTestDatabase();
    t.teardown(() => db.close());
    await t.rejects(
      buildApp({
        config: testConfig({ NODE_ENV: 'production', ISSUER: 'https://auth.example.com', KEYS_DIR: keysDir }),
        database: db.database,
      }),
      KeyError,
      'production with no key in KEYS_DIR refuses to boot',
    );
    await t.rejects(open(keysDir), /no signing key/, 'the key store reports that there is no signing key');
  });

  t.test(
    'keys from before schedules (a bare .pem) count as active since their creation; the latest signs',
    async (t) => {
      const keysDir = await tempDir(t);
      const { generateKeyFile } = await import('../../src/domain/keys/keys.js');
      const older = await generateKeyFile(keysDir, new Date(Date.now() - 3 * 60_000));
      const newer = await generateKeyFile(keysDir, new Date(Date.now() - 60_000));
      await rm(`${keysDir}/${older}.json`);
      await rm(`${keysDir}/${newer}.json`);
      const store = await open(keysDir);
      t.equal(store.signing.kid, newer, 'the newer of the bare keys signs');
      t.same(
        store.jwks.keys.map((k) => k.kid),
        [newer, older],
        'the superseded key is published while its tokens may live',
      );
      await rm(`${keysDir}/${older}.pem`);
      await store.reload();
      t.same(
        store.jwks.keys.map((k) => k.kid),
        [newer],
        'a deleted key is gone at the next reload',
      );
      // The service upgrades such a folder: schedules written down as they were, plus a next key.
      const { app } = await buildTestApp(t, { keysDir });
      t.equal(app.services.keys.signing.kid, newer, 'the same key signs after the upgrade');
      t.same(
        app.services.keys.statuses.map((s) => s.state).sort(),
        ['active', 'next'],
        'the upgrade leaves one active key and one next key',
      );
    },
  );

  t.test('a file that is not a private key fails the boot with its name', async (t) => {
    const keysDir = await tempDir(t);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${keysDir}/broken.pem`, 'not a key');
    await t.rejects(open(keysDir), /broken\.pem/, 'the key store names the file that is not a key');
    const db = await createTestDatabase();
    t.teardown(() => db.close());
    await t.rejects(
      buildApp({ config: testConfig({ KEYS_DIR: keysDir }), database: db.database }),
      /broken\.pem/,
      'the boot fails, naming the file that is not a key',
    );
  });
});

t.test('two instances sharing one database', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const keysDir = await tempDir(t);
  const env = { REFRESH_REUSE_GRACE_SECONDS: '0' };
  const { app: a } = await buildTestApp(t, { db, keysDir, env });
  const other = await db.openAnother();
  const { app: b } = await buildTestApp(t, { db: { ...db, database: other }, keysDir, env });

  t.test('a token rotated on one instance is reuse on the other', async (t) => {
    const s = await session(a);
    const r = await refresh(b, s.refresh);
    t.equal(r.statusCode, 200, 'the refresh on the second instance is accepted');
    const reuse = await refresh(a, s.refresh);
    t.equal(reuse.statusCode, 401, 'the spent token on the first instance is refused');
    t.equal(reuse.json().code, 'refresh_token_reused', 'the refusal says the token was reused');
    t.equal(
      (await refresh(b, refreshCookieOf(r))).json().code,
      'session_revoked',
      'the token the other instance issued is refused too: the whole session is revoked',
    );
  });

  t.test('parallel refreshes of one token across both instances: exactly one wins', async (t) => {
    const s = await session(a);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => refresh(i % 2 ? a : b, s.refresh)));
    const statuses = results.map((r) => r.statusCode);
    t.notOk(
      statuses.some((c) => c >= 500),
      'no 5xx',
    );
    t.equal(statuses.filter((c) => c === 200).length, 1, 'exactly one of the 20 parallel refreshes succeeds');
    const sessionRow = await db.database.prisma.session.findFirstOrThrow({ where: { userId: s.user.id } });
    t.equal(sessionRow.revokedReason, 'refresh_token_reused', 'the session is revoked as refresh token reuse');
  });
});
