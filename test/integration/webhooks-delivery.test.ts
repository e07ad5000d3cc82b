// Webhooks through a real receiver that verifies every request with the standardwebhooks library: a signed
// event arrives with its secret shown once; a receiver down for an hour (a moved clock, compressed backoff)
// gets everything when it returns; a rotation signs with both secrets for its overlap; 50 events at once
// arrive once each from two instances; redirects, private addresses, slow and chatty receivers are handled.
import t from 'tap';
import {
  buildTestApp,
  createTestDatabase,
  databaseKind,
  expectError,
  ManualClock,
  register,
  type TestApp,
} from '../helper.js';
import { openDatabase } from '../../src/db/open.js';
import { adminSession, bearer } from '../authz-fixtures.js';
import { startReceiver } from '../webhook-receiver.js';

const ENV = {
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
  // The tests run the worker by hand (runOnce) against a moved clock.
  WEBHOOK_POLL_INTERVAL_MS: '60000',
  WEBHOOK_RETRY_BASE_MS: '60000',
  WEBHOOK_RETRY_MAX_MS: '600000',
  WEBHOOK_TIMEOUT_MS: '1000',
};

async function addEndpoint(app: TestApp, token: string, url: string, eventTypes = ['user.created']) {
  const res = await app.inject({
    method: 'POST',
    url: '/admin/webhooks',
    headers: bearer(token),
    payload: { url, event_types: eventTypes },
  });
  if (res.statusCode !== 201) throw new Error(`endpoint not made: ${res.statusCode} ${res.body}`);
  return res.json() as { endpoint: { id: string }; secret: string };
}

t.test('a new user reaches the endpoint as a signed user.created the standardwebhooks library verifies', async (t) => {
  const receiver = await startReceiver(t);
  const { app } = await buildTestApp(t, { env: ENV });
  const admin = await adminSession(app);
  const made = await addEndpoint(app, admin.accessToken, receiver.url);
  t.match(made.secret, /^whsec_[A-Za-z0-9+/=]{40,}$/, 'the secret is a Standard Webhooks whsec_ secret');
  receiver.trust(made.secret);
  const shown = await app.inject({
    method: 'GET',
    url: `/admin/webhooks/${made.endpoint.id}`,
    headers: bearer(admin.accessToken),
  });
  t.notOk(shown.body.includes(made.secret), 'the secret is shown once, when made: never listed');

  const { user } = await register(app);
  t.equal(await app.webhookWorker.runOnce(), 1, 'one delivery went out');
  t.equal(receiver.received.length, 1, 'the receiver accepted one signed request');
  const got = receiver.received[0]!;
  t.equal(got.type, 'user.created', 'the event type');
  t.equal(got.body.data.user_id, user.id, 'the payload names the new user');
  t.match(got.id, /^msg_[0-9a-f]{32}$/, 'webhook-id is a stable message id');
  t.notOk(JSON.stringify(got.body).includes('@'), 'the payload carries no email address, token or password');

  const list = await app.inject({
    method: 'GET',
    url: '/admin/webhooks/deliveries',
    headers: bearer(admin.accessToken),
  });
  const [row] = list.json().deliveries;
  t.match(row, { event_id: got.id, state: 'delivered', attempts: 1, last_status: 204 }, 'admins see the outcome');
  const again = await app.inject({
    method: 'POST',
    url: `/admin/webhooks/deliveries/${row.id}/resend`,
    headers: bearer(admin.accessToken),
  });
  t.equal(again.statusCode, 202, 'a delivery can be re-sent');
  await app.webhookWorker.runOnce();
  t.equal(receiver.received.length, 2, 're-sent');
  t.equal(receiver.received[1]!.id, got.id, 'with the same webhook-id, so the receiver can tell it already has it');
});

t.test(
  'a receiver down for an hour receives every event when it returns, after capped exponential retries',
  async (t) => {
    const receiver = await startReceiver(t);
    // The clock starts an hour back, so that once the hour has passed it is the real time the receiver checks.
    const clock = new ManualClock(new Date(Date.now() - 3600_000));
    const { app, db } = await buildTestApp(t, { env: ENV, clock });
    const admin = await adminSession(app);
    const made = await addEndpoint(app, admin.accessToken, receiver.url);
    receiver.trust(made.secret);
    await receiver.down();
    const users = [];
    for (let i = 0; i < 5; i++) users.push((await register(app)).user.id);

    const start = clock.now().getTime();
    const gaps: number[] = [];
    while (clock.now().getTime() - start < 3600_000) {
      await app.webhookWorker.runOnce();
      const next = await db.database.prisma.webhookDelivery.aggregate({ _min: { nextAttemptAt: true } });
      const due = next._min.nextAttemptAt!.getTime();
      gaps.push(due - clock.now().getTime());
      clock.advance(Math.max(0, due - clock.now().getTime()) / 1000);
    }
    t.equal(receiver.received.length, 0, 'nothing arrived while the receiver was down');
    const rows = await db.database.prisma.webhookDelivery.findMany();
    t.equal(rows.length, 5, 'one delivery per event');
    t.ok(
      rows.every((r) => r.sentAt === null && r.failedAt === null),
      'none was given up during the hour',
    );
    t.ok(rows[0]!.attempts >= 8, `retried all hour long (${rows[0]!.attempts} attempts)`);
    t.ok(Math.max(...gaps) <= 600_000, 'the wait never exceeds WEBHOOK_RETRY_MAX_MS');
    t.ok(gaps.includes(120_000) && gaps.includes(240_000), 'the wait doubles');

    await receiver.up();
    clock.advance(Math.max(0, Date.now() - clock.now().getTime()) / 1000);
    await app.webhookWorker.runOnce();
    t.same(
      receiver.received.map((r) => r.body.data.user_id).sort(),
      [...users].sort(),
      'every event arrived once the receiver was back',
    );
    t.equal(new Set(receiver.received.map((r) => r.id)).size, 5, 'each with its own webhook-id');
  },
);

t.test('a rotated secret: both sign during the overlap, only the new one after it', async (t) => {
  const receiver = await startReceiver(t);
  const { app, clock } = await buildTestApp(t, { env: ENV });
  const admin = await adminSession(app);
  const made = await addEndpoint(app, admin.accessToken, receiver.url);
  const rotated = await app.inject({
    method: 'POST',
    url: `/admin/webhooks/${made.endpoint.id}/rotate-secret`,
    headers: bearer(admin.accessToken),
    payload: { overlap_seconds: 60 },
  });
  t.equal(rotated.statusCode, 201, 'rotated');
  const next = rotated.json().secret as string;
  t.not(next, made.secret, 'a new secret');
  receiver.trust(made.secret, next);
  await register(app);
  await app.webhookWorker.runOnce();
  t.same(receiver.received[0]?.verifiedWith, [0, 1], 'during the overlap a receiver with either secret verifies it');
  t.equal(receiver.received[0]?.signature.split(' ').length, 2, 'two signatures in one webhook-signature header');

  clock.advance(61);
  await register(app);
  await app.webhookWorker.runOnce();
  t.same(receiver.received[1]?.verifiedWith, [1], 'after the overlap only the new secret verifies');
});

t.test('50 events at once, two instances delivering: each arrives exactly once', async (t) => {
  const receiver = await startReceiver(t);
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const clock = new ManualClock(new Date());
  // Fifty registrations at once on a shared, loaded machine: on PostgreSQL each instance gets a pool that
  // waits longer for a connection than the service's default, so the test is about delivery, not the pool.
  const open = async () => {
    if (databaseKind !== 'postgres') return db.openAnother();
    const d = await openDatabase(db.url, { migrate: false, timeouts: { connectMs: 60_000, statementMs: 60_000 } });
    t.teardown(() => d.close());
    return d;
  };
  // Each delivery has the longest time to answer the configuration allows: on a loaded machine, a send to the
  // loopback receiver that ran past the 1 s of the other tests was left for a retry the unmoved clock never reaches.
  const env = { ...ENV, WEBHOOK_TIMEOUT_MS: '30000' };
  const a = await buildTestApp(t, { env, db: { ...db, database: await open() }, clock });
  const b = await buildTestApp(t, { env, db: { ...db, database: await open() }, clock, keysDir: a.keysDir });
  const admin = await adminSession(a.app);
  const made = await addEndpoint(a.app, admin.accessToken, receiver.url);
  receiver.trust(made.secret);
  await Promise.all(Array.from({ length: 50 }, (_, i) => register(i % 2 ? a.app : b.app)));
  await Promise.all([a.app.webhookWorker.runOnce(), b.app.webhookWorker.runOnce(), a.app.webhookWorker.runOnce()]);
  await Promise.all([a.app.webhookWorker.runOnce(), b.app.webhookWorker.runOnce()]);
  t.equal(receiver.received.length, 50, 'fifty deliveries, none twice');
  t.equal(new Set(receiver.received.map((r) => r.id)).size, 50, 'fifty distinct webhook-ids');
  t.equal(receiver.rejected.length, 0, 'every signature verified');
});

t.test('no redirect followed, slow receivers time out, only an excerpt of an answer is kept', async (t) => {
  const receiver = await startReceiver(t);
  const { app, db } = await buildTestApp(t, { env: { ...ENV, WEBHOOK_MAX_ATTEMPTS: '1' } });
  const admin = await adminSession(app);
  const made = await addEndpoint(app, admin.accessToken, receiver.url);
  receiver.trust(made.secret);
  const last = async () =>
    (await db.database.prisma.webhookDelivery.findFirstOrThrow({ orderBy: { id: 'desc' } })) as {
      failedAt: Date | null;
      lastError: string | null;
      lastResponse: string | null;
      lastStatus: number | null;
    };

  receiver.answerWith((_req, res) => res.writeHead(302, { location: `${receiver.url}/elsewhere` }).end());
  await register(app);
  await app.webhookWorker.runOnce();
  t.equal(receiver.received.length, 1, 'the redirect was not followed');
  t.match(await last(), { lastStatus: 302, lastError: /redirect/ }, 'a redirect is a failed attempt');
  t.ok((await last()).failedAt, 'given up after WEBHOOK_MAX_ATTEMPTS');

  receiver.answerWith((_req, res) => res.writeHead(500).end('x'.repeat(20_000)));
  await register(app);
  await app.webhookWorker.runOnce();
  t.equal((await last()).lastResponse?.length, 256, 'only a short excerpt of the answer is stored');

  receiver.answerWith(() => {});
  await register(app);
  await app.webhookWorker.runOnce();
  t.match(await last(), { lastError: /no answer within 1000 ms/ }, 'a receiver that never answers times out');
});

t.test('a binary answer is recorded, and the deliveries queued behind it still go out', async (t) => {
  const receiver = await startReceiver(t);
  const { app, db } = await buildTestApp(t, { env: ENV });
  const admin = await adminSession(app);
  const made = await addEndpoint(app, admin.accessToken, receiver.url);
  receiver.trust(made.secret);
  // The first answer is binary with NUL bytes (which a PostgreSQL text column refuses); the rest are plain.
  let answered = 0;
  receiver.answerWith((_req, res) =>
    answered++ === 0
      ? res.writeHead(500).end(Buffer.from([0x1f, 0x8b, 0, 0, 0x41, 0, 0x42]))
      : res.writeHead(204).end(),
  );
  for (let i = 0; i < 3; i++) await register(app);
  await app.webhookWorker.runOnce();
  t.equal(receiver.received.length, 3, 'all three deliveries of the batch were attempted');
  const rows = (await db.database.prisma.webhookDelivery.findMany({ orderBy: { id: 'asc' } })) as {
    sentAt: Date | null;
    lockedUntil: Date | null;
    lastStatus: number | null;
    lastResponse: string | null;
  }[];
  t.equal(rows[0]!.lastStatus, 500, 'the binary answer is recorded as a failed attempt');
  t.notOk(rows[0]!.lastResponse?.includes('\u0000'), 'its excerpt is text without NUL');
  t.equal(rows[0]!.lockedUntil, null, 'and the delivery is not left leased (it will be retried)');
  t.ok(rows[1]!.sentAt && rows[2]!.sentAt, 'the deliveries behind it were delivered');
});

t.test('private and loopback addresses are refused unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES', async (t) => {
  const receiver = await startReceiver(t);
  const { app, db } = await buildTestApp(t, { env: { ...ENV, WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false' } });
  const admin = await adminSession(app);
  for (const url of ['http://127.0.0.1/x', 'http://[::1]/x', 'http://169.254.169.254/latest', 'http://10.0.0.7/'])
    expectError(
      t,
      await app.inject({
        method: 'POST',
        url: '/admin/webhooks',
        headers: bearer(admin.accessToken),
        payload: { url, event_types: ['user.created'] },
      }),
      'webhook_url_invalid',
      url,
    );
  // A name is checked where it resolves, at delivery: localhost is loopback.
  const made = await addEndpoint(app, admin.accessToken, `http://localhost:${receiver.port}/hooks`);
  receiver.trust(made.secret);
  await register(app);
  await app.webhookWorker.runOnce();
  t.equal(receiver.received.length, 0, 'nothing was sent to a name that resolves to loopback');
  const row = await db.database.prisma.webhookDelivery.findFirstOrThrow();
  t.match(row.lastError, /private, loopback or link-local/, 'the refusal is the recorded outcome');
});
