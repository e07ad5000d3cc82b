// The shell blocks of docs/email.md, run as written with bash, one after the other in one shell as a reader
// runs them in one terminal, against a listening service whose development outbox folder is data/outbox/ under
// the shell's folder: register and log in, verify the address, reset the password, change the address and undo
// it, each link's token read from the message the service wrote. Then the database says each step happened.
import t from 'tap';
import path from 'node:path';
import { buildTestApp, tempDir } from '../helper.js';
import { bash, block } from '../doc-shell.js';

const PAGE = 'docs/email.md';

t.test('docs/email.md: the blocks verify, reset, change and undo with the tokens of the messages', async (t) => {
  const dir = await tempDir(t, 'tessera-email-docs-');
  const { app, db } = await buildTestApp(t, {
    env: { EMAIL_FLOWS: 'on', MAIL_OUTBOX_DIR: path.join(dir, 'data', 'outbox'), MAIL_POLL_INTERVAL_MS: '100' },
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const blocks = await Promise.all(
    [
      'json() {',
      'curl -s -X POST localhost:3000/auth/verify-email/request',
      'curl -s -X POST localhost:3000/auth/password/forgot',
      'ACCESS=$(curl -s localhost:3000/auth/login',
    ].map((first) => block(PAGE, first)),
  );
  const script = blocks.join('\n').replaceAll('localhost:3000', address.replace('http://', ''));
  const r = await bash(script, {}, dir);
  t.equal(r.code, 0, `the four blocks exit 0 (stderr: ${r.stderr.slice(0, 300)})`);
  const answers = r.stdout;
  t.notMatch(answers, /"code":/, `no step answered an error: ${answers.slice(0, 500)}`);

  const prisma = db.database.prisma;
  const ada = await prisma.user.findUniqueOrThrow({ where: { email: 'ada@example.com' } });
  t.ok(ada.emailVerifiedAt, 'the address was verified with the token of the verification message');
  const types = (await prisma.auditEvent.findMany({ where: { userId: ada.id }, orderBy: { id: 'asc' } })).map(
    (e) => e.type,
  );
  for (const step of ['email_verified', 'password_reset', 'email_changed', 'email_change_undone'])
    t.ok(types.includes(step), `${step}: the block's step happened`);
  t.equal(ada.email, 'ada@example.com', 'the undo gave the old address back');
});
