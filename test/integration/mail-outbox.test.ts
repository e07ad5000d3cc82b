// The transactional outbox through a real SMTP server: an outage delays mail and loses none; two instances
// sharing one database deliver each message exactly once; a rolled-back transaction sends nothing; a message
// that never goes through is given up after MAIL_MAX_ATTEMPTS; without SMTP_URL, messages become .eml files.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { simpleParser } from 'mailparser';
import { buildTestApp, createTestDatabase, ManualClock, register, tempDir, uniqueEmail } from '../helper.js';
import { mailEnv, startSmtp, tokenFrom } from '../mail-smtp.js';
import { enqueueMail } from '../../src/domain/mail/outbox.js';

const forgot = (app: Awaited<ReturnType<typeof buildTestApp>>['app'], email: string) =>
  app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });

async function until(check: () => Promise<boolean>, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

t.test(
  'the SMTP server down while a reset is requested: 202, then delivered with backoff once it is back',
  async (t) => {
    const smtp = await startSmtp(t);
    const { app, clock, db, logs } = await buildTestApp(t, { env: mailEnv(smtp), captureLogs: true });
    const { email } = await register(app);
    await smtp.waitFor(1);
    await smtp.down();

    const res = await forgot(app, email);
    t.equal(res.statusCode, 202, 'accepted although SMTP is away');
    await until(async () => {
      const m = await db.database.prisma.mailMessage.findFirst({ where: { kind: 'password_reset' } });
      return m?.attempts === 1 && m.lockedUntil === null;
    }, 'a first attempt, over');
    const row = await db.database.prisma.mailMessage.findFirstOrThrow({ where: { kind: 'password_reset' } });
    t.equal(row.sentAt, null, 'not sent');
    t.ok(row.lastError, 'the failure is recorded');
    t.equal(row.nextAttemptAt.getTime() - clock.now().getTime(), 5000, 'retried after 5 s (the first backoff step)');
    t.ok(
      logs.some((l) => l.event === 'mail_failed' && l.kind === 'password_reset'),
      'logged as a failure to retry',
    );

    await smtp.up();
    await app.mailWorker!.runOnce();
    t.equal(smtp.received.length, 1, 'nothing before the backoff is over');
    clock.advance(5);
    const [, mail] = await smtp.waitFor(2);
    t.equal(mail!.to, email, 'the reset mail delayed by the outage reaches the user who asked');
    t.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/auth/password/reset',
          payload: { token: tokenFrom(mail!), new_password: 'after the outage' },
        })
      ).statusCode,
      204,
      'the delayed link works',
    );
    const sent = await db.database.prisma.mailMessage.findFirstOrThrow({ where: { kind: 'password_reset' } });
    t.ok(sent.sentAt, 'marked sent');
    t.equal(sent.textBody, null, 'the body (with its token) is blanked once sent');
  },
);

t.test('two instances sharing one database deliver every message exactly once, through an outage', async (t) => {
  const smtp = await startSmtp(t);
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const clock = new ManualClock(new Date());
  const env = mailEnv(smtp, { MAIL_POLL_INTERVAL_MS: '20', MAIL_PER_EMAIL_PER_HOUR: '0' });
  const a = await buildTestApp(t, { env, db, clock });
  const other = await db.openAnother();
  const b = await buildTestApp(t, { env, db: { ...db, database: other }, clock, keysDir: a.keysDir });
  await smtp.down();

  const users = [];
  for (let i = 0; i < 8; i++) users.push(await register(i % 2 ? a.app : b.app));
  await Promise.all(
    users.flatMap((u, i) => [forgot(a.app, u.email), forgot(b.app, u.email), forgot(i % 2 ? a.app : b.app, u.email)]),
  );
  const total = await db.database.prisma.mailMessage.count();
  t.equal(total, 8 * 4, 'a verification and three reset messages per user');
  // Every message tried once and back from its attempt (none in flight when the clock moves).
  await until(
    async () =>
      (await db.database.prisma.mailMessage.count({
        where: { OR: [{ attempts: 0 }, { lockedUntil: { not: null } }] },
      })) === 0,
    'every message tried once',
  );

  await smtp.up();
  clock.advance(5);
  await until(
    async () => (await db.database.prisma.mailMessage.count({ where: { sentAt: null } })) === 0,
    'every message sent',
    60_000,
  );
  await new Promise((r) => setTimeout(r, 200)); // room for a duplicate to show up, were there one
  t.equal(smtp.received.length, total, 'as many received as written');
  t.equal(new Set(smtp.received.map((m) => m.messageId)).size, total, 'no message received twice');
});

t.test('a rolled-back transaction sends nothing; the committed one is delivered', async (t) => {
  const smtp = await startSmtp(t);
  const { app, db, clock } = await buildTestApp(t, { env: mailEnv(smtp) });
  const mail = (to: string) => ({ kind: 'password_changed', to, subject: 'test', text: 'hello', html: '<p>hello</p>' });
  const rolledBack = uniqueEmail();
  const committed = uniqueEmail();
  await t.rejects(
    db.database.prisma.$transaction(async (tx) => {
      await enqueueMail(tx, mail(rolledBack), clock.now());
      throw new Error('the change this message reports failed');
    }),
    'the transaction that enqueued the message rolls back',
  );
  await db.database.prisma.$transaction(async (tx) => enqueueMail(tx, mail(committed), clock.now()));
  await app.mailWorker!.runOnce();
  await smtp.waitFor(1);
  await app.mailWorker!.runOnce();
  t.same(
    smtp.received.map((m) => m.to),
    [committed],
    "only the committed transaction's message is delivered",
  );
  t.equal(await db.database.prisma.mailMessage.count(), 1, 'the rolled-back message left no row in the outbox');
});

t.test('a message that never goes through is given up after MAIL_MAX_ATTEMPTS, and its body blanked', async (t) => {
  const smtp = await startSmtp(t);
  const { app, clock, db, logs } = await buildTestApp(t, {
    env: mailEnv(smtp, { MAIL_MAX_ATTEMPTS: '2' }),
    captureLogs: true,
  });
  await smtp.down();
  await register(app);
  await until(async () => {
    const m = await db.database.prisma.mailMessage.findFirst();
    return m?.attempts === 1 && m.lockedUntil === null;
  }, 'the first attempt, over');
  clock.advance(5);
  await until(async () => (await db.database.prisma.mailMessage.findFirst())?.failedAt != null, 'giving up');
  const row = await db.database.prisma.mailMessage.findFirstOrThrow();
  t.equal(row.attempts, 2, 'the message is tried MAIL_MAX_ATTEMPTS times, no more');
  t.equal(row.textBody, null, "the given-up message's body (with its token) is blanked");
  t.ok(
    logs.some((l) => l.event === 'mail_given_up'),
    'logged as an error',
  );
  await smtp.up();
  clock.advance(3600);
  await app.mailWorker!.runOnce();
  t.equal(smtp.received.length, 0, 'never sent afterwards');
});

t.test(
  'without SMTP_URL, messages are .eml files in MAIL_OUTBOX_DIR; the log names the file and holds no token',
  async (t) => {
    const dir = await tempDir(t, 'tessera-outbox-');
    const { app, rawLogs, logs } = await buildTestApp(t, {
      env: { EMAIL_FLOWS: 'on', MAIL_OUTBOX_DIR: dir, MAIL_POLL_INTERVAL_MS: '20' },
      captureLogs: true,
    });
    const { email } = await register(app);
    await until(async () => (await readdir(dir)).length === 1, 'the .eml file');
    const [name] = await readdir(dir);
    const eml = await simpleParser(await readFile(path.join(dir, name!)));
    t.equal(
      eml.to && !Array.isArray(eml.to) ? eml.to.text : '',
      email,
      'the .eml file is addressed to the registered user',
    );
    const token = /token=([\w-]{43})/.exec(eml.text ?? '')?.[1];
    t.ok(token, 'the file holds the link');
    await until(async () => logs.some((l) => l.event === 'mail_sent'), 'the log line');
    t.equal(logs.find((l) => l.event === 'mail_sent')!.file, path.join(dir, name!), 'the log names the file');
    t.notOk(
      rawLogs.some((l) => l.includes(token!)),
      'no token in any log line',
    );
    const verify = await app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token } });
    t.equal(verify.statusCode, 204, 'the link in the file works');
  },
);

t.test('MAIL_LOG_LINKS=true logs the links of development messages (the documented exception)', async (t) => {
  const dir = await tempDir(t, 'tessera-outbox-');
  const { app, logs } = await buildTestApp(t, {
    env: { EMAIL_FLOWS: 'on', MAIL_OUTBOX_DIR: dir, MAIL_POLL_INTERVAL_MS: '20', MAIL_LOG_LINKS: 'true' },
    captureLogs: true,
  });
  await register(app);
  await until(async () => logs.some((l) => l.event === 'mail_links'), 'the links line');
  t.match(
    (logs.find((l) => l.event === 'mail_links')!.links as string[])[0],
    /token=[\w-]{43}/,
    'the logged development link carries the token',
  );
});

t.test(
  'a burst goes out over one SMTP connection; one the server closes as a message starts is replaced',
  async (t) => {
    const smtp = await startSmtp(t);
    const { db, clock } = await buildTestApp(t, { env: mailEnv(smtp) });
    const mail = (to: string) => ({
      kind: 'password_changed',
      to,
      subject: 'test',
      text: 'hello',
      html: '<p>hello</p>',
    });
    const burst = Array.from({ length: 20 }, () => uniqueEmail());
    await db.database.prisma.$transaction(async (tx) => {
      for (const to of burst) await enqueueMail(tx, mail(to), clock.now());
    });
    await smtp.waitFor(20);
    t.same(smtp.received.map((m) => m.to).sort(), [...burst].sort(), 'all 20 delivered');
    t.equal(smtp.sessions(), 1, 'over one connection: the server greets once, not once per message');

    // The server ends the kept session (421) just as the next message starts: nothing of it was sent, so it goes
    // out at once over a new connection, not after a failed attempt and its backoff.
    smtp.closeAtNextMessage();
    const later = uniqueEmail();
    await db.database.prisma.$transaction(async (tx) => enqueueMail(tx, mail(later), clock.now()));
    const received = await smtp.waitFor(21);
    t.equal(received[20]!.to, later, 'the message is delivered');
    t.equal(smtp.sessions(), 2, 'over a new connection');
    const row = await db.database.prisma.mailMessage.findFirstOrThrow({ where: { recipient: later } });
    t.equal(row.attempts, 1, 'at its first attempt');
    t.equal(row.lastError, null, 'with no failure recorded');
  },
);
