// `npm run webhooks` as an operator runs it, each command its own process on DATABASE_URL and KEYS_DIR: add an
// endpoint (its secret printed once), list it, rotate the secret with an overlap, list deliveries, re-send one,
// disable and delete it, with the output and exit code of each (2 usage or refused input, 4 not found). Between
// commands the service runs on the same database and keys and delivers to a real receiver that verifies each
// request with the standardwebhooks library, so what the CLI prints is what a receiver needs.
import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../../src/app.js';
import { createTestDatabase, ManualClock, postgresUrl, register, tempDir, testConfig } from '../helper.js';
import { startReceiver } from '../webhook-receiver.js';

// Each command is its own process opening the database: minutes on a loaded machine.
t.setTimeout(1_800_000);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEBHOOK_ENV = { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true', WEBHOOK_POLL_INTERVAL_MS: '60000' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

t.test('npm run webhooks: add, list, rotate with overlap, deliveries, resend, disable, delete', async (t) => {
  const receiver = await startReceiver(t);
  const dir = await tempDir(t);
  const keysDir = path.join(dir, 'keys');
  let url = `pglite:${path.join(dir, 'data')}`;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  if (postgresUrl) {
    database = await createTestDatabase();
    t.teardown(() => database!.close());
    url = database.url;
  }
  const env = { DATABASE_URL: url, KEYS_DIR: keysDir, ...WEBHOOK_ENV };
  const webhooks = (...args: string[]) =>
    new Promise<Run>((resolve) => {
      execFile(
        'npm',
        ['run', '--silent', 'webhooks', '--', ...args],
        { cwd: ROOT, timeout: 600_000, env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'silent', ...env } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
  /** The service on the same database and keys, for one step (the embedded database serves one process). */
  const withService = async (work: (app: Awaited<ReturnType<typeof buildApp>>) => Promise<void>) => {
    const app = await buildApp({
      config: testConfig(env),
      clock: new ManualClock(new Date()),
      ...(database ? { database: database.database } : {}),
    });
    try {
      await work(app);
    } finally {
      await app.close();
    }
  };
  await withService(async () => {}); // makes the schema and the keys

  const usage = await webhooks();
  t.equal(usage.code, 2, 'no command: exit 2');
  t.match(usage.stderr, /usage: npm run webhooks -- add <url>/, 'and the usage, naming every command');
  t.match(usage.stderr, /event types: user\.created, /, 'with the event types');

  const unknown = await webhooks('add', receiver.url, 'user.created,user.exploded');
  t.equal(unknown.code, 2, 'an unknown event type: exit 2');
  t.match(unknown.stderr, /^webhook_event_type_unknown: /, 'named by its error code');

  const added = await webhooks('add', receiver.url, 'user.created,session.ended', 'CRM sync');
  t.equal(added.code, 0, `add exits 0 (${added.stderr})`);
  const id = /^id: +([0-9a-f-]{36})$/m.exec(added.stdout)?.[1];
  const secret = /^secret: (whsec_\S+) /m.exec(added.stdout)?.[1];
  t.ok(id && secret, 'add prints the endpoint id and its whsec_ secret');
  t.match(added.stdout, /shown once/, 'and says the secret is shown once');

  const listed = await webhooks('list');
  t.equal(listed.code, 0, 'list exits 0');
  t.equal(
    listed.stdout,
    `${id}\tenabled\t${receiver.url}\tsession.ended,user.created\n`,
    'list shows id, state, url and event types; never the secret',
  );

  receiver.trust(secret!);
  await withService(async (app) => {
    await register(app);
    await app.webhookWorker.runOnce();
  });
  t.equal(receiver.received.length, 1, 'the service delivered to the endpoint the CLI added');
  t.same(receiver.received[0]?.verifiedWith, [0], 'signed with the secret the CLI printed');

  const badOverlap = await webhooks('rotate', id!, 'soon');
  t.equal(badOverlap.code, 2, 'an overlap that is not a number of seconds: exit 2');
  const rotated = await webhooks('rotate', id!, '3600');
  t.equal(rotated.code, 0, 'rotate exits 0');
  const next = /^secret: (whsec_\S+) /m.exec(rotated.stdout)?.[1];
  t.ok(next && next !== secret, 'rotate prints a new secret');
  const until = /previous secret signs too until (\S+)$/m.exec(rotated.stdout)?.[1];
  const overlapMs = Date.parse(until ?? '') - Date.now();
  t.ok(overlapMs > 3_000_000 && overlapMs <= 3_600_000, 'and when the previous one stops signing (in an hour)');
  receiver.trust(secret!, next!);
  await withService(async (app) => {
    await register(app);
    await app.webhookWorker.runOnce();
  });
  t.same(receiver.received[1]?.verifiedWith, [0, 1], 'during the overlap both secrets verify the delivery');

  const deliveries = await webhooks('deliveries', id!);
  t.equal(deliveries.code, 0, 'deliveries exits 0');
  const rows = deliveries.stdout.trim().split('\n');
  t.equal(rows.length, 2, 'one line per delivery');
  const [newest] = rows.map((l) => l.split('\t'));
  t.match(
    newest,
    [/^\d+$/, 'delivered', 'user.created', receiver.received[1]!.id, 'attempts=1', '204', ''],
    'id, state, event type, webhook-id, attempts, last status, last error',
  );

  const resent = await webhooks('resend', newest![0]!);
  t.equal(resent.code, 0, 'resend exits 0');
  t.equal(resent.stdout, `${newest![0]}\tpending\tqueued\n`, 'resend says the delivery is queued');
  await withService(async (app) => {
    await app.webhookWorker.runOnce();
  });
  t.equal(receiver.received.length, 3, 'the re-sent delivery went out again');
  t.equal(receiver.received[2]!.id, receiver.received[1]!.id, 'with the same webhook-id');
  const missing = await webhooks('resend', '999999');
  t.equal(missing.code, 4, 'resend of a delivery that does not exist: exit 4');
  t.match(missing.stderr, /^not_found: /, 'named by its error code');
  const tooLarge = await webhooks('resend', '99999999999999999999');
  t.equal(tooLarge.code, 2, 'a delivery id too large for the database: exit 2 (refused before the database)');

  const disabled = await webhooks('disable', id!);
  t.equal(disabled.code, 0, 'disable exits 0');
  t.equal(disabled.stdout, `${id}\tdisabled\n`, 'disable prints the new state');
  t.match((await webhooks('list')).stdout, new RegExp(`^${id}\\tdisabled\\t`), 'list shows it disabled');
  await withService(async (app) => {
    await register(app);
    await app.webhookWorker.runOnce();
  });
  t.equal(receiver.received.length, 3, 'a disabled endpoint is sent nothing');
  t.equal((await webhooks('enable', 'not-an-id')).code, 2, 'an id that is not a uuid: exit 2');

  const deleted = await webhooks('delete', id!);
  t.equal(deleted.code, 0, 'delete exits 0');
  t.equal(deleted.stdout, `deleted ${id}\n`, 'delete says so');
  t.equal((await webhooks('list')).stdout, '', 'the list is empty');
  t.equal((await webhooks('disable', id!)).code, 4, 'a deleted endpoint: exit 4');
});
