// The shell blocks of docs/webhooks.md, run as written with bash against a listening service and a real receiver
// that verifies every request with the standardwebhooks library: the values a reader puts in (ADMIN_TOKEN,
// RECEIVER_URL, DELIVERY_ID) come from the running server, and the documented address is replaced by the test
// server's. Each block is then held to what the receiver got, not just to its exit code.
import t from 'tap';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import { buildTestApp, ManualClock, register, tempDir, testConfig } from '../helper.js';
import { adminSession } from '../authz-fixtures.js';
import { startReceiver } from '../webhook-receiver.js';
import { bash, block, DOCUMENTED } from '../doc-shell.js';

// npm and tsx start per command: minutes on a loaded machine.
t.setTimeout(900_000);

const PAGE = 'docs/webhooks.md';
const WEBHOOK_ENV = { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true', WEBHOOK_POLL_INTERVAL_MS: '60000' };

t.test('docs/webhooks.md: the curl blocks register an endpoint, list failed deliveries and re-send one', async (t) => {
  const receiver = await startReceiver(t);
  const { app, db } = await buildTestApp(t, { env: { ...WEBHOOK_ENV, WEBHOOK_MAX_ATTEMPTS: '1' } });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const admin = await adminSession(app);
  const env = { ADMIN_TOKEN: admin.accessToken, RECEIVER_URL: receiver.url };

  const made = await bash(
    (await block(PAGE, 'curl -s -X POST http://localhost:3000/admin/webhooks')).replaceAll(DOCUMENTED, address),
    env,
  );
  t.equal(made.code, 0, `the register block exits 0 (stderr: ${made.stderr.slice(0, 300)})`);
  const answer = JSON.parse(made.stdout) as { endpoint: { url: string; event_types: string[] }; secret: string };
  t.equal(answer.endpoint.url, receiver.url, 'the endpoint has the receiver URL put in');
  t.same(answer.endpoint.event_types, ['session.ended', 'user.created'], 'and the event types of the block');
  t.match(answer.secret, /^whsec_/, 'the answer shows the secret');
  receiver.trust(answer.secret);

  // The first delivery fails (and is given up after WEBHOOK_MAX_ATTEMPTS=1); the receiver then accepts.
  let answered = 0;
  receiver.answerWith((_req, res) => res.writeHead(answered++ === 0 ? 500 : 204).end());
  const { user } = await register(app);
  await app.webhookWorker.runOnce();
  const failed = await db.database.prisma.webhookDelivery.findFirstOrThrow({ where: { failedAt: { not: null } } });

  const r = await bash(
    (await block(PAGE, "curl -s 'http://localhost:3000/admin/webhooks/deliveries?state=failed'")).replaceAll(
      DOCUMENTED,
      address,
    ),
    { ...env, DELIVERY_ID: String(failed.id) },
  );
  t.equal(r.code, 0, `the deliveries block exits 0 (stderr: ${r.stderr.slice(0, 300)})`);
  t.match(r.stdout, `"id":"${failed.id}"`, 'the list names the failed delivery');
  t.match(r.stdout, /"state":"failed".*"state":"pending"/s, 'listed as failed, then queued again by the re-send');
  await app.webhookWorker.runOnce();
  const got = receiver.received.filter((d) => d.id === failed.eventId);
  t.equal(got.length, 2, 'the receiver got the event again after the re-send');
  t.equal(got[1]?.body.data.user_id, user.id, 'the same user.created, verified with the secret the block showed');
});

t.test('docs/webhooks.md: the npm run webhooks block adds an endpoint the service then delivers to', async (t) => {
  const receiver = await startReceiver(t);
  const dir = await tempDir(t);
  const env = { DATABASE_URL: `pglite:${path.join(dir, 'data')}`, KEYS_DIR: path.join(dir, 'keys'), ...WEBHOOK_ENV };
  const config = testConfig(env);
  // The service makes the schema and keys, then stops: the embedded database serves one process, as the page says.
  await (await buildApp({ config, clock: new ManualClock(new Date()) })).close();

  const r = await bash(await block(PAGE, 'npm run webhooks -- add "$RECEIVER_URL"'), {
    ...env,
    RECEIVER_URL: receiver.url,
  });
  t.equal(r.code, 0, `add and list exit 0 (stderr: ${r.stderr.slice(0, 300)})`);
  const id = /^id: +([0-9a-f-]{36})$/m.exec(r.stdout)?.[1];
  const secret = /^secret: (whsec_\S+) /m.exec(r.stdout)?.[1];
  t.ok(id && secret, 'add prints the id and the secret');
  t.match(
    r.stdout,
    `${id}\tenabled\t${receiver.url}\tsession.ended,user.created`,
    'list shows the endpoint enabled with its URL and event types',
  );

  receiver.trust(secret!);
  const app = await buildApp({ config, clock: new ManualClock(new Date()) });
  t.teardown(() => app.close());
  await register(app);
  await app.webhookWorker.runOnce();
  t.equal(receiver.received.length, 1, 'the service delivered to the endpoint the block added');
  t.same(receiver.received[0]?.verifiedWith, [0], 'signed with the secret the block printed');
});
