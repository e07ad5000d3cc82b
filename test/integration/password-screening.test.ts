// New passwords are screened against the common-password list shipped in @zxcvbn-ts/language-common
// (NIST SP 800-63B §5.1.1.2): at registration, reset, change and first password each is refused with
// 400 password_too_common, whatever its case; a password on the list set before keeps logging in.
import t from 'tap';
import { buildTestApp, expectError, login, PASSWORD, register, uniqueEmail } from '../helper.js';
import { mailEnv, startSmtp, tokenFrom } from '../mail-smtp.js';

// From the list (some in another case), and one character repeated.
const COMMON = ['password1', 'Password1', 'PASSWORD123', 'iloveyou1', 'qwertyuiop', '1q2w3e4r5t', 'aaaaaaaaaa'];

t.test('registration refuses common passwords, 30 at once, and creates no account for them', async (t) => {
  const { app } = await buildTestApp(t);
  const emails = Array.from({ length: 30 }, () => uniqueEmail());
  const replies = await Promise.all(
    emails.map((email, i) =>
      app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: COMMON[i % COMMON.length] } }),
    ),
  );
  for (const [i, res] of replies.entries())
    expectError(t, res, 'password_too_common', `registering with ${JSON.stringify(COMMON[i % COMMON.length])}`);
  t.match(replies[0]!.json().message, /common/, 'the message says why');
  t.equal(
    await app.services.database.prisma.user.count({ where: { email: { in: emails } } }),
    0,
    'no account was created with a common password',
  );
  t.equal((await register(app)).user.email.length > 0, true, 'a passphrase off the list registers');
});

t.test('a password change to a common password is refused and the old password keeps working', async (t) => {
  const { app } = await buildTestApp(t);
  const { email } = await register(app);
  const { accessToken } = await login(app, email);
  const res = await app.inject({
    method: 'POST',
    url: '/auth/password',
    headers: { authorization: `Bearer ${accessToken}` },
    payload: { current_password: PASSWORD, new_password: 'Iloveyou1' },
  });
  expectError(t, res, 'password_too_common', 'changing to a common password');
  await login(app, email, PASSWORD);
  t.pass('the old password still logs in');
});

t.test('a reset to a common password is refused, and the link still works for a good one', async (t) => {
  const smtp = await startSmtp(t);
  const { app } = await buildTestApp(t, { env: mailEnv(smtp) });
  const { email } = await register(app);
  await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
  await smtp.waitFor(2);
  const token = tokenFrom(smtp.to(email).find((m) => /reset/i.test(m.subject))!);
  const reset = (new_password: string) =>
    app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, new_password } });
  expectError(t, await reset('qwerty123'), 'password_too_common', 'resetting to a common password');
  t.equal((await reset('a fresh uncommon passphrase')).statusCode, 204, 'the same link then sets a good password');
  await login(app, email, 'a fresh uncommon passphrase');
  t.pass('the new password logs in');
});

t.test('a first password (account made through a provider) is screened too', async (t) => {
  const { app } = await buildTestApp(t);
  const { email, user } = await register(app);
  const { accessToken } = await login(app, email);
  // As an account made through a provider: no password yet.
  await app.services.database.prisma.user.update({ where: { id: user.id }, data: { passwordHash: null } });
  const first = (new_password: string) =>
    app.inject({
      method: 'POST',
      url: '/auth/password/first',
      headers: { authorization: `Bearer ${accessToken}` },
      payload: { new_password },
    });
  expectError(t, await first('sunshine1'), 'password_too_common', 'a common first password');
  t.equal((await first('an uncommon first passphrase')).statusCode, 204, 'an uncommon one is set');
});

t.test('an account whose password predates the screen still logs in with it', async (t) => {
  const { app } = await buildTestApp(t);
  const { email, user } = await register(app);
  const passwordHash = await app.services.passwords.hash('password1');
  await app.services.database.prisma.user.update({ where: { id: user.id }, data: { passwordHash } });
  await login(app, email, 'password1');
  t.pass('login does not screen: nobody is locked out when the list grows');
});
