// Limits on the email endpoints: per client address (the shared rate-limit plugin) and per target address
// (MAIL_PER_EMAIL_PER_HOUR), under 50 requests at once, and across two instances through Redis. A spent
// per-address allowance on forgot-password still answers 202 (the same as for an unknown address) and sends
// nothing more.
import t from 'tap';
import { buildTestApp, createTestDatabase, login, ManualClock, register, uniqueEmail } from '../helper.js';
import { mailEnv, startSmtp } from '../mail-smtp.js';
import { startRedis } from '../redis-server.js';

t.test('50 forgot-password requests at once for one address: all 202, MAIL_PER_EMAIL_PER_HOUR messages', async (t) => {
  const smtp = await startSmtp(t);
  const { app, db, clock } = await buildTestApp(t, { env: mailEnv(smtp, { MAIL_PER_EMAIL_PER_HOUR: '3' }) });
  const { email } = await register(app);
  const replies = await Promise.all(
    Array.from({ length: 50 }, () => app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } })),
  );
  t.same([...new Set(replies.map((r) => r.statusCode))], [202], 'every one answered 202');
  t.equal(await db.database.prisma.mailMessage.count({ where: { kind: 'password_reset' } }), 3, 'three messages');
  clock.advance(3601);
  await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
  t.equal(
    await db.database.prisma.mailMessage.count({ where: { kind: 'password_reset' } }),
    4,
    'the allowance comes back after the hour',
  );
});

t.test(
  'forgot-password, reset and verify-email are limited per client address, also under 50 requests at once',
  async (t) => {
    const smtp = await startSmtp(t);
    const { app } = await buildTestApp(t, { env: mailEnv(smtp, { RATE_LIMIT_PER_MINUTE: '5' }) });
    const forgot = (remoteAddress: string) =>
      app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: uniqueEmail() }, remoteAddress });
    const burst = await Promise.all(Array.from({ length: 50 }, () => forgot('198.51.100.1')));
    const passed = burst.filter((r) => r.statusCode === 202).length;
    // At most the limit (src/plugins/rate-limit-store.ts counts each request of a burst at its own increment).
    t.ok(passed <= 5, `at most 5 of 50 at once pass (${passed})`);
    const refused = burst.filter((r) => r.statusCode !== 202);
    t.equal(refused.length, 50 - passed, 'every request over the per-address limit is refused');
    t.same(
      [...new Set(refused.map((r) => r.json().code))],
      ['too_many_requests'],
      'the refused ones say too_many_requests',
    );
    t.ok(refused[0]!.headers['retry-after'], 'with Retry-After');

    const oneByOne = [];
    for (let i = 0; i < 6; i++) oneByOne.push((await forgot('198.51.100.2')).statusCode);
    t.same(oneByOne, [202, 202, 202, 202, 202, 429], 'one after another: five pass, the sixth is refused');

    const reset = [];
    for (let i = 0; i < 6; i++)
      reset.push(
        (
          await app.inject({
            method: 'POST',
            url: '/auth/password/reset',
            payload: { token: 'A'.repeat(43), new_password: 'whatever it is' },
          })
        ).statusCode,
      );
    t.same(reset, [400, 400, 400, 400, 400, 429], 'reset is limited too');
    const verify = [];
    for (let i = 0; i < 6; i++)
      verify.push(
        (await app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token: 'A'.repeat(43) } }))
          .statusCode,
      );
    t.same(verify, [400, 400, 400, 400, 400, 429], 'verify-email is limited too');
  },
);

t.test(
  'a signed-in user asking for verification links is held to MAIL_PER_EMAIL_PER_HOUR: 429 after that',
  async (t) => {
    const smtp = await startSmtp(t);
    const { app } = await buildTestApp(t, { env: mailEnv(smtp, { MAIL_PER_EMAIL_PER_HOUR: '2' }) });
    const { email } = await register(app); // the first link
    const { accessToken } = await login(app, email);
    const replies = await Promise.all(
      Array.from({ length: 50 }, () =>
        app.inject({
          method: 'POST',
          url: '/auth/verify-email/request',
          headers: { authorization: `Bearer ${accessToken}` },
        }),
      ),
    );
    t.equal(replies.filter((r) => r.statusCode === 202).length, 1, 'one more link');
    t.same(
      [...new Set(replies.filter((r) => r.statusCode !== 202).map((r) => r.json().code))],
      ['too_many_requests'],
      'every link asked for beyond the allowance is refused as too_many_requests',
    );
  },
);

t.test('the per-address allowance holds across two instances sharing Redis', async (t) => {
  const smtp = await startSmtp(t);
  const redis = await startRedis(t);
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const clock = new ManualClock(new Date());
  const env = mailEnv(smtp, { MAIL_PER_EMAIL_PER_HOUR: '3', REDIS_URL: redis.url });
  const a = await buildTestApp(t, { env, db, clock });
  const b = await buildTestApp(t, { env, db: { ...db, database: await db.openAnother() }, clock, keysDir: a.keysDir });
  const { email } = await register(a.app);
  const replies = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      (i % 2 ? a.app : b.app).inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } }),
    ),
  );
  t.same([...new Set(replies.map((r) => r.statusCode))], [202], 'every request on either instance is answered 202');
  t.equal(
    await db.database.prisma.mailMessage.count({ where: { kind: 'password_reset' } }),
    3,
    'three messages in all, not three per instance',
  );
});
