// REDIS_URL: rate limits and failed-login throttling hold across instances, against a real redis-server.
import t from 'tap';
import { buildTestApp, createTestDatabase, ManualClock, register, tempDir, testConfig } from '../helper.js';
import { startRedis } from '../redis-server.js';
import { buildApp } from '../../src/app.js';

const badLogin = (email: string) => ({
  method: 'POST' as const,
  url: '/auth/login',
  payload: { email, password: 'wrong password' },
});

t.test('two instances share one per-address budget', async (t) => {
  const redis = await startRedis(t);
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const env = { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '4' };
  const { app: a } = await buildTestApp(t, { db, env });
  const { app: b } = await buildTestApp(t, { db, env });
  const { email } = await register(a);
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await (i % 2 ? b : a).inject(badLogin(email))).statusCode);
  // With per-instance memory counters each instance would have allowed 4, and none of these would be 429.
  t.same(
    statuses,
    [401, 401, 401, 401, 429, 429],
    'the four failures allowed per address are spent across both instances, then 429',
  );
  const refused = await a.inject(badLogin(email));
  t.equal(refused.json().code, 'too_many_requests', 'the next attempt is refused as too_many_requests');
  t.ok(Number(refused.headers['retry-after']) > 0, 'the refusal says when to retry');
  const elsewhere = await b.inject({ ...badLogin(email), remoteAddress: '198.51.100.7' });
  t.equal(elsewhere.statusCode, 401, 'another address has its own budget');
});

t.test(
  'two instances share the dynamic registration limit: 50 registrations at once, exactly the hourly limit',
  async (t) => {
    const redis = await startRedis(t);
    const db = await createTestDatabase();
    t.teardown(() => db.close());
    const env = { REDIS_URL: redis.url, DYNAMIC_REGISTRATION: 'true', DYNAMIC_REGISTRATION_PER_HOUR: '10' };
    const { app: a } = await buildTestApp(t, { db, env });
    const { app: b } = await buildTestApp(t, { db, env });
    const all = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? b : a).inject({
          method: 'POST',
          url: '/oauth/register',
          payload: { client_name: `agent ${i}`, redirect_uris: ['http://127.0.0.1/callback'] },
        }),
      ),
    );
    // With per-instance memory counters each instance would have registered 10.
    t.equal(all.filter((r) => r.statusCode === 201).length, 10, 'ten registrations in all, not ten per instance');
    t.equal(all.filter((r) => r.statusCode === 429).length, 40, 'the other forty are too_many_requests');
    t.equal(await db.database.prisma.dynamicRegistration.count(), 10, 'ten clients are stored');
  },
);

t.test('failed-login throttling is shared: failures on one instance lock the pair on the other', async (t) => {
  const redis = await startRedis(t);
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const clock = new ManualClock(new Date());
  const env = { REDIS_URL: redis.url };
  const { app: a } = await buildTestApp(t, { db, env, clock });
  const { app: b } = await buildTestApp(t, { db, env, clock });
  const { email, password } = await register(a);
  for (let i = 0; i < 6; i++)
    t.equal((await (i % 2 ? b : a).inject(badLogin(email))).statusCode, 401, `failure ${i + 1}`);
  const locked = await b.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
  t.equal(locked.statusCode, 429, 'the lock set through one instance holds on the other');
  t.equal(locked.json().code, 'too_many_requests', 'the lock is reported as too_many_requests');
  t.equal(locked.headers['retry-after'], '1', 'the first lock lasts one second');
  clock.advance(1);
  const ok = await a.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
  t.equal(ok.statusCode, 200, 'the wait is over');
  t.equal((await b.inject(badLogin(email))).statusCode, 401, 'and the success cleared the shared counter');
});

t.test('a Redis outage does not stop logins (limits fail open) and is logged', async (t) => {
  const redis = await startRedis(t);
  const { app, logs } = await buildTestApp(t, {
    env: { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '50' },
    captureLogs: true,
  });
  const { email, password } = await register(app);
  await redis.stop();
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
  t.equal(res.statusCode, 200, 'the right password still logs in');
  const wrong = await app.inject(badLogin(email));
  t.equal(wrong.statusCode, 401, 'the wrong one is still a plain 401, not a 500');
  t.equal(wrong.json().code, 'invalid_credentials', 'a wrong password during the outage answers invalid_credentials');
  t.ok(
    logs.some((l) => l.event === 'redis_error'),
    'the outage is logged',
  );
});

t.test('an unreachable REDIS_URL is a boot error', async (t) => {
  const redis = await startRedis(t);
  await redis.stop();
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  await t.rejects(
    buildApp({ config: testConfig({ REDIS_URL: redis.url, KEYS_DIR: await tempDir(t) }), database: db.database }),
    /cannot connect to REDIS_URL/,
    'the boot fails, naming REDIS_URL',
  );
});

t.test('REDIS_URL must be a redis:// or rediss:// URL', async (t) => {
  t.throws(() => testConfig({ REDIS_URL: 'http://127.0.0.1:6379' }), /REDIS_URL/, 'an http:// REDIS_URL is refused');
});
