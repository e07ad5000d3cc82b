// API keys across instances, against a real redis-server (test/redis-server.ts): two Tessera instances on one
// database. A key revoked through one is refused by the other within 1 s with REDIS_URL and within 5 s without
// (what docs/oauth-apps.md promises a deployment; a key's use reads its row, so it is in fact the next use),
// and the per-key rate limit is one budget for the pair when they share Redis: 100 uses of one key at the
// same instant, split over the two instances, let exactly the limit through.
import t, { type Test } from 'tap';
import { buildTestApp, createTestDatabase, expectError, type TestApp } from '../helper.js';
import { startRedis } from '../redis-server.js';
import { exchange, userKey } from '../api-key-fixtures.js';

/** Two instances on one database (and one KEYS_DIR: the same pepper), with `env`. */
async function pair(t: Test, env: Record<string, string>) {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const a = await buildTestApp(t, { db, env });
  const b = await buildTestApp(t, { db, env, keysDir: a.keysDir });
  return { a: a.app, b: b.app };
}

/**
 * Milliseconds from the revocation on `a` to the start of the first burst of 20 uses on `b` that is refused in
 * full (a use sent that long after the revocation is refused; the burst's own latency is the machine's). At most
 * 6 s are waited.
 */
async function revocationSeenAfter(t: Test, a: TestApp, b: TestApp): Promise<number> {
  const { user, key, id } = await userKey(a, ['support']);
  t.equal((await exchange(b, key)).statusCode, 200, 'the second instance accepts the key before');
  const del = await a.inject({
    method: 'DELETE',
    url: `/auth/api-keys/${id}`,
    headers: { authorization: `Bearer ${user.accessToken}` },
  });
  t.equal(del.statusCode, 204, 'the first instance revokes it');
  const revokedAt = performance.now();
  for (;;) {
    const elapsed = performance.now() - revokedAt;
    const burst = await Promise.all(Array.from({ length: 20 }, () => exchange(b, key)));
    if (burst.every((r) => r.statusCode === 400)) {
      expectError(t, burst[0]!, 'invalid_grant', 'the second instance refuses the revoked key');
      return elapsed;
    }
    if (performance.now() - revokedAt > 6000) return performance.now() - revokedAt;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('with Redis, a key revoked on one instance is refused by the other within 1 second', async (t) => {
  const redis = await startRedis(t);
  const { a, b } = await pair(t, { REDIS_URL: redis.url, API_KEY_RATE_LIMIT_PER_MINUTE: '0' });
  const ms = await revocationSeenAfter(t, a, b);
  t.ok(ms <= 1000, `uses sent ${Math.round(ms)} ms after the revocation answered are refused (≤ 1000 ms)`);
});

t.test('without Redis, a key revoked on one instance is refused by the other within 5 seconds', async (t) => {
  const { a, b } = await pair(t, { API_KEY_RATE_LIMIT_PER_MINUTE: '0' });
  const ms = await revocationSeenAfter(t, a, b);
  t.ok(ms <= 5000, `uses sent ${Math.round(ms)} ms after the revocation answered are refused (≤ 5000 ms)`);
});

t.test(
  'two instances sharing Redis: 100 uses of one key at once, split over both, let exactly the limit through',
  async (t) => {
    const redis = await startRedis(t);
    const { a, b } = await pair(t, {
      REDIS_URL: redis.url,
      API_KEY_RATE_LIMIT_PER_MINUTE: '25',
      API_KEY_ADDRESS_RATE_LIMIT_PER_MINUTE: '0',
    });
    const { key } = await userKey(a, ['support']);
    const other = await userKey(b, ['support']);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => exchange(i % 2 ? b : a, key)));
    const ok = answers.filter((r) => r.statusCode === 200);
    t.equal(ok.length, 25, 'exactly 25 of the 100 get a token: one budget for both instances, not 25 each');
    for (const r of answers.filter((r) => r.statusCode !== 200)) {
      expectError(t, r, 'too_many_requests', 'the other 75 are refused');
      t.ok(Number(r.headers['retry-after']) >= 1, 'with Retry-After');
    }
    expectError(t, await exchange(b, key), 'too_many_requests', 'the key stays limited on the second instance');
    t.equal((await exchange(b, other.key)).statusCode, 200, 'another key has its own budget');
  },
);
