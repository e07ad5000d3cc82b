// The email settings are checked at boot, naming the variable: SMTP_URL's shape, production without a way to
// send, the development-only link log. Templates can be replaced from a folder, and that shows in the mail.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { Outbox } from '../../src/domain/mail/outbox.js';
import { buildTestApp, register, tempDir } from '../helper.js';
import { mailEnv, startSmtp, tokenFrom } from '../mail-smtp.js';

const PROD = { NODE_ENV: 'production', ISSUER: 'https://auth.example.com' };

t.test('SMTP_URL must be smtp:// or smtps:// with a host, and a user only with a password', async (t) => {
  for (const bad of ['http://mail.example.com', 'smtp://', 'mail.example.com:25', 'smtp://user@mail.example.com']) {
    t.throws(() => loadConfig({ SMTP_URL: bad }), { name: 'ConfigError', message: /SMTP_URL/ }, bad);
  }
  for (const good of ['smtp://mail.example.com:587', 'smtps://user:secret@mail.example.com:465']) {
    t.equal(loadConfig({ SMTP_URL: good }).mail.smtpUrl, good, `${good}: a valid SMTP_URL is kept as given`);
  }
});

t.test('production refuses to boot with email flows on and no SMTP_URL, and refuses MAIL_LOG_LINKS', async (t) => {
  t.throws(
    () => loadConfig({ ...PROD, EMAIL_FLOWS: 'on' }),
    { name: 'ConfigError', message: /SMTP_URL/ },
    'production with email flows on and no SMTP_URL refuses to boot, naming SMTP_URL',
  );
  t.throws(
    () => loadConfig({ ...PROD, SMTP_URL: 'smtps://u:p@mail.example.com', MAIL_LOG_LINKS: 'true' }),
    {
      name: 'ConfigError',
      message: /MAIL_LOG_LINKS/,
    },
    'production refuses MAIL_LOG_LINKS, naming it',
  );
  t.equal(loadConfig(PROD).mail.enabled, false, 'without SMTP_URL, production keeps the flows off by default');
  t.equal(
    loadConfig({ ...PROD, SMTP_URL: 'smtps://u:p@mail.example.com' }).mail.enabled,
    true,
    'SMTP_URL turns them on',
  );
  t.equal(loadConfig({ NODE_ENV: 'development' }).mail.enabled, true, 'development: on, into a folder');
  t.equal(
    loadConfig({ NODE_ENV: 'development' }).mail.logLinks,
    true,
    'development: links logged unless MAIL_LOG_LINKS=false',
  );
  t.equal(loadConfig({ NODE_ENV: 'test' }).mail.logLinks, false, 'tests do not log links');
  t.throws(
    () => loadConfig({ PASSWORD_RESET_URL: 'ftp://x' }),
    { message: /PASSWORD_RESET_URL/ },
    'a PASSWORD_RESET_URL that is not http(s) refuses to boot, naming it',
  );
  t.throws(
    () => loadConfig({ EMAIL_VERIFY_URL: 'https://app.example.com/#/verify' }),
    { message: /EMAIL_VERIFY_URL/ },
    'an EMAIL_VERIFY_URL with a fragment refuses to boot, naming it',
  );
  t.ok(new ConfigError('x') instanceof Error, 'a ConfigError is an Error');
});

t.test(
  'templates from MAIL_TEMPLATES_DIR replace the built-in ones, with placeholders filled and escaped',
  async (t) => {
    const dir = await tempDir(t, 'tessera-templates-');
    await writeFile(path.join(dir, 'verify_email.subject.txt'), 'Welcome to {{product}}\n');
    await writeFile(path.join(dir, 'verify_email.html'), '<p>{{product}}: <a href="{{link}}">go</a></p>');
    const smtp = await startSmtp(t);
    const { app } = await buildTestApp(t, {
      env: mailEnv(smtp, { MAIL_TEMPLATES_DIR: dir, MAIL_PRODUCT_NAME: 'Fish & <Chips>' }),
    });
    await register(app);
    const [mail] = await smtp.waitFor(1);
    t.equal(
      mail!.subject,
      'Welcome to Fish & <Chips>',
      'the subject comes from the template folder, placeholders filled (plain text, so not escaped)',
    );
    t.match(mail!.html, /Fish &(amp;|#38;) &(lt;|#60;)Chips&(gt;|#62;):/, 'escaped in HTML');
    t.match(mail!.text, /Confirm that/, 'the text part not overridden stays built in');
    t.equal(
      (await app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token: tokenFrom(mail!) } }))
        .statusCode,
      204,
      'the link in the templated mail still verifies the address',
    );
  },
);

t.test('sent messages and expired tokens are purged after PURGE_AFTER_DAYS', async (t) => {
  const smtp = await startSmtp(t);
  const { app, db, clock } = await buildTestApp(t, { env: mailEnv(smtp) });
  await register(app);
  await smtp.waitFor(1);
  await app.mailWorker!.runOnce();
  const outbox = new Outbox(db.database.sql);
  t.same(await outbox.purge(clock.now()), { messages: 0, tokens: 0 }, 'nothing yet');
  clock.advance(9 * 86400);
  t.same(
    await outbox.purge(new Date(clock.now().getTime() - 7 * 86400_000)),
    { messages: 1, tokens: 1 },
    'after PURGE_AFTER_DAYS the sent message and the expired token are purged',
  );
});
