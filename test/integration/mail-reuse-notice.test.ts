// When refresh-token reuse ends a session, the user is emailed: when, which session (device and address),
// and where the repeated use came from. The notice is written in the revocation's transaction, once.
import t from 'tap';
import { buildTestApp, login, refresh, register } from '../helper.js';
import { mailEnv, startSmtp } from '../mail-smtp.js';
import { REFRESH_COOKIE } from '../../src/http/refresh-cookie.js';

t.test('refresh-token reuse ends the session and emails a notice with time, device and address, once', async (t) => {
  const smtp = await startSmtp(t);
  const { app, db } = await buildTestApp(t, { env: mailEnv(smtp, { REFRESH_REUSE_GRACE_SECONDS: '0' }) });
  const { email } = await register(app);
  await smtp.waitFor(1);
  const s = await login(app, email, undefined, { 'user-agent': 'VictimBrowser/1.0' });
  t.equal((await refresh(app, s.refresh)).statusCode, 200, "the victim's first refresh is accepted");
  const replays = await Promise.all(
    Array.from({ length: 50 }, () =>
      app.inject({
        method: 'POST',
        url: '/auth/refresh',
        cookies: { [REFRESH_COOKIE]: s.refresh },
        headers: { 'user-agent': 'ThiefTool/6.6' },
        remoteAddress: '203.0.113.9',
      }),
    ),
  );
  t.equal(replays.filter((r) => r.json().code === 'refresh_token_reused').length, 1, 'one request reports the reuse');
  const [, notice] = await smtp.waitFor(2);
  t.equal(notice!.to, email, "the reuse notice goes to the account's address");
  t.match(notice!.subject, /session was ended/, "the notice's subject says the session was ended");
  t.match(notice!.text, /VictimBrowser\/1\.0/, 'the session device');
  t.match(notice!.text, /ThiefTool\/6\.6/, 'the device that replayed the token');
  t.match(notice!.text, /203\.0\.113\.9/, 'the address it came from');
  t.match(notice!.html, /ThiefTool\/6\.6/, 'the HTML part names the replaying device too');
  await app.mailWorker!.runOnce();
  t.equal(
    await db.database.prisma.mailMessage.count({ where: { kind: 'session_reuse' } }),
    1,
    'one notice for 50 replays',
  );
});

t.test('SECURITY_NOTICES=off sends no reuse notice', async (t) => {
  const smtp = await startSmtp(t);
  const { app, db } = await buildTestApp(t, {
    env: mailEnv(smtp, { REFRESH_REUSE_GRACE_SECONDS: '0', SECURITY_NOTICES: 'off' }),
  });
  const { email } = await register(app);
  const s = await login(app, email);
  await refresh(app, s.refresh);
  t.equal(
    (await refresh(app, s.refresh)).json().code,
    'refresh_token_reused',
    'the replayed token is still refused as reused',
  );
  t.equal(
    await db.database.prisma.mailMessage.count({ where: { kind: 'session_reuse' } }),
    0,
    'no reuse notice is written with SECURITY_NOTICES=off',
  );
});
