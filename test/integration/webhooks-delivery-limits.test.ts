// The limits of webhook delivery, each through a real receiver that verifies signatures with the standardwebhooks
// library: a receiver that never answers holds up only its own endpoint's deliveries; a re-send of a delivery a
// worker is sending is refused (not silently dropped and audited); a delivery id too large for the database is
// refused by the route's schema; http:// endpoints are refused in production unless WEBHOOK_ALLOW_HTTP; ending
// hundreds of sessions at once is announced in several bounded session.ended events.
import t from 'tap';
import type { ServerResponse } from 'node:http';
import { buildTestApp, expectError, login, register, type TestApp } from '../helper.js';
import { adminSession, bearer } from '../authz-fixtures.js';
import { startReceiver } from '../webhook-receiver.js';
import { SESSION_IDS_PER_EVENT } from '../../src/domain/webhook-events.js';

const ENV = {
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
  WEBHOOK_POLL_INTERVAL_MS: '60000',
  WEBHOOK_RETRY_BASE_MS: '60000',
  WEBHOOK_RETRY_MAX_MS: '600000',
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

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('a receiver that never answers holds up only its own deliveries: the other endpoints get theirs', async (t) => {
  const slow = await startReceiver(t);
  const fast = await startReceiver(t);
  // The attempt timeout is far longer than the wait below: only delivering in lanes lets the fast one finish.
  const { app } = await buildTestApp(t, { env: { ...ENV, WEBHOOK_TIMEOUT_MS: '30000', WEBHOOK_CONCURRENCY: '4' } });
  const admin = await adminSession(app);
  // The slow endpoint is registered first, so its deliveries come first in id order.
  const s = await addEndpoint(app, admin.accessToken, slow.url);
  const f = await addEndpoint(app, admin.accessToken, fast.url);
  slow.trust(s.secret);
  fast.trust(f.secret);
  const held: ServerResponse[] = [];
  slow.answerWith((_req, res) => held.push(res));
  for (let i = 0; i < 8; i++) await register(app);

  const run = app.webhookWorker.runOnce();
  await until('the fast receiver to get all 8 events', () => fast.received.length === 8);
  t.equal(fast.received.length, 8, 'the fast endpoint got every event while the slow one had not answered');
  t.equal(held.length, 1, 'the slow endpoint is sent one delivery at a time, not flooded');
  // Release the slow receiver: each answer lets the next delivery of its lane go out.
  slow.answerWith((_req, res) => res.writeHead(204).end());
  for (const res of held.splice(0)) res.writeHead(204).end();
  t.equal(await run, 16, 'once it answers, all sixteen deliveries are delivered');
  t.equal(slow.received.length, 8, 'the slow endpoint got its eight too');
});

t.test(
  're-sending a delivery a worker is sending answers webhook_delivery_in_flight, and audits nothing',
  async (t) => {
    const receiver = await startReceiver(t);
    const { app, db } = await buildTestApp(t, { env: { ...ENV, WEBHOOK_TIMEOUT_MS: '30000' } });
    const admin = await adminSession(app);
    const made = await addEndpoint(app, admin.accessToken, receiver.url);
    receiver.trust(made.secret);
    const held: ServerResponse[] = [];
    receiver.answerWith((_req, res) => held.push(res));
    await register(app);
    const run = app.webhookWorker.runOnce();
    await until('the delivery to be in flight', () => held.length === 1);
    const row = await db.database.prisma.webhookDelivery.findFirstOrThrow();
    const resend = () =>
      app.inject({
        method: 'POST',
        url: `/admin/webhooks/deliveries/${row.id}/resend`,
        headers: bearer(admin.accessToken),
      });
    const during = await Promise.all(Array.from({ length: 30 }, resend));
    for (const res of during) expectError(t, res, 'webhook_delivery_in_flight', 'a re-send while it is being sent');
    const audited = () => db.database.prisma.auditEvent.count({ where: { type: 'webhook_delivery_resent' } });
    t.equal(await audited(), 0, 'a refused re-send writes no audit row');

    held[0]!.writeHead(204).end();
    receiver.answerWith((_req, res) => res.writeHead(204).end());
    t.equal(await run, 1, 'the delivery in flight finished and was recorded as delivered');
    const after = await Promise.all(Array.from({ length: 30 }, resend));
    t.ok(
      after.every((r) => r.statusCode === 202),
      'once it is recorded, 30 re-sends at once are accepted',
    );
    t.equal(await audited(), 30, 'each accepted re-send is audited');
    await app.webhookWorker.runOnce();
    t.equal(receiver.received.length, 2, 'thirty re-sends at once queue it once: it is sent once more');
    t.equal(receiver.received[1]!.id, receiver.received[0]!.id, 'with the same webhook-id');
  },
);

t.test('a re-send whose audit row cannot be written is not queued either: both commit or neither', async (t) => {
  const receiver = await startReceiver(t);
  const { app, db } = await buildTestApp(t, { env: ENV });
  const admin = await adminSession(app);
  const made = await addEndpoint(app, admin.accessToken, receiver.url);
  receiver.trust(made.secret);
  await register(app);
  t.equal(await app.webhookWorker.runOnce(), 1, 'the delivery went out');
  const row = await db.database.prisma.webhookDelivery.findFirstOrThrow();
  // The audit write fails after the statement that queues the re-send succeeded.
  const sql = db.database.prisma;
  await sql.$executeRawUnsafe(`CREATE FUNCTION refuse_resent_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.type = 'webhook_delivery_resent' THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$`);
  await sql.$executeRawUnsafe(`CREATE TRIGGER refuse_resent_audit BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_resent_audit()`);
  const resend = () =>
    app.inject({
      method: 'POST',
      url: `/admin/webhooks/deliveries/${row.id}/resend`,
      headers: bearer(admin.accessToken),
    });
  const refused = await resend();
  t.equal(refused.statusCode, 500, 'the re-send fails as a whole');
  const after = await db.database.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: row.id } });
  t.ok(after.sentAt !== null && after.attempts === 1, 'the delivery stays delivered: no re-send queued unaudited');
  t.equal(await app.webhookWorker.runOnce(), 0, 'nothing goes out again');

  await sql.$executeRawUnsafe('DROP TRIGGER refuse_resent_audit ON audit_events');
  t.equal((await resend()).statusCode, 202, 'once the audit row can be written, the re-send is accepted');
  const audited = await db.database.prisma.auditEvent.count({ where: { type: 'webhook_delivery_resent' } });
  t.equal(audited, 1, 'and audited once: an admin sees every re-send that went out');
  t.equal(await app.webhookWorker.runOnce(), 1, 'and it goes out again');
});

t.test('a delivery id too large for the database is refused with invalid_request, not a 500', async (t) => {
  const { app } = await buildTestApp(t, { env: ENV });
  const admin = await adminSession(app);
  const huge = '9999999999999999999'; // past 9223372036854775807, the largest int8
  for (const [method, url] of [
    ['GET', `/admin/webhooks/deliveries/${huge}`],
    ['POST', `/admin/webhooks/deliveries/${huge}/resend`],
    ['GET', `/admin/webhooks/deliveries?before=${huge}`],
  ] as const)
    expectError(t, await app.inject({ method, url, headers: bearer(admin.accessToken) }), 'invalid_request', url);
  const largest = await app.inject({
    method: 'GET',
    url: '/admin/webhooks/deliveries/999999999999999999',
    headers: bearer(admin.accessToken),
  });
  expectError(t, largest, 'not_found', 'an 18-digit id the database can hold is looked up');
});

t.test('in production an http:// endpoint is refused unless WEBHOOK_ALLOW_HTTP=true', async (t) => {
  const receiver = await startReceiver(t);
  const production = { ...ENV, NODE_ENV: 'production', ISSUER: 'https://auth.example.com' };
  const { app } = await buildTestApp(t, { env: production });
  const admin = await adminSession(app);
  const refused = await app.inject({
    method: 'POST',
    url: '/admin/webhooks',
    headers: bearer(admin.accessToken),
    payload: { url: receiver.url, event_types: ['user.created'] },
  });
  expectError(t, refused, 'webhook_url_invalid', 'http:// in production, even where private addresses are allowed');

  const allowed = await buildTestApp(t, { env: { ...production, WEBHOOK_ALLOW_HTTP: 'true' } });
  const admin2 = await adminSession(allowed.app);
  const made = await addEndpoint(allowed.app, admin2.accessToken, receiver.url);
  receiver.trust(made.secret);
  await register(allowed.app);
  await allowed.app.webhookWorker.runOnce();
  t.equal(receiver.received.length, 1, 'with WEBHOOK_ALLOW_HTTP=true an http:// endpoint is delivered to');

  // The same database and keys served without the allowance: the saved http:// endpoint is not sent to.
  // The app closes the connection it is given.
  const another = await allowed.db.openAnother();
  const strict = await buildTestApp(t, {
    env: production,
    db: { ...allowed.db, database: another },
    keysDir: allowed.keysDir,
  });
  await register(strict.app);
  await strict.app.webhookWorker.runOnce();
  t.equal(receiver.received.length, 1, 'an http:// endpoint saved earlier gets nothing once http is refused');
  const last = await strict.db.database.prisma.webhookDelivery.findFirstOrThrow({ orderBy: { id: 'desc' } });
  t.match(last.lastError, /WEBHOOK_ALLOW_HTTP/, 'the refusal is the recorded outcome, naming the setting');
});

t.test(
  'signing out of hundreds of sessions at once is announced in session.ended events of at most 100 ids',
  async (t) => {
    const receiver = await startReceiver(t);
    const { app } = await buildTestApp(t, { env: ENV });
    const admin = await adminSession(app);
    const made = await addEndpoint(app, admin.accessToken, receiver.url, ['session.ended']);
    receiver.trust(made.secret);
    const { email } = await register(app);
    const count = 2 * SESSION_IDS_PER_EVENT + 30;
    let last = await login(app, email);
    for (let i = 1; i < count; i++) last = await login(app, email);
    const out = await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(last.accessToken) });
    t.equal(out.statusCode, 204, 'signed out everywhere');
    await app.webhookWorker.runOnce();
    const ended = receiver.received.filter((r) => r.type === 'session.ended');
    t.same(
      ended.map((r) => (r.body.data.session_ids as string[]).length).sort((a, b) => b - a),
      [SESSION_IDS_PER_EVENT, SESSION_IDS_PER_EVENT, 30],
      'three events: two of 100 ids and one of the rest',
    );
    const ids = ended.flatMap((r) => r.body.data.session_ids as string[]);
    t.equal(new Set(ids).size, count, 'together they name every ended session, each once');
    t.ok(
      ended.every((r) => r.body.data.reason === 'logout_all'),
      'each carries the reason',
    );
    t.equal(new Set(ended.map((r) => r.id)).size, 3, 'each event has its own webhook-id');
  },
);
