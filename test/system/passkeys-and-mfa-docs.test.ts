// The shell block of docs/passkeys-and-mfa.md that signs in with a second factor, run as written with bash
// against a listening service: the values a reader puts in (EMAIL, PASSWORD, CODE: the code the authenticator
// app shows now) come from an account with a confirmed factor; the mfa_token and factor_id are read from the
// first answer, as the block does. The second answer must be the signed-in one, with the refresh cookie.
import t from 'tap';
import { buildTestApp, register, tempDir } from '../helper.js';
import { codeAt, withTotp } from '../mfa-fixture.js';
import { bash, block } from '../doc-shell.js';

const PAGE = 'docs/passkeys-and-mfa.md';

t.test(`${PAGE}: the two calls sign in with a password and the authenticator app's code`, async (t) => {
  const { app, clock } = await buildTestApp(t);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const { email, password } = await register(app);
  const { secret, factorId } = await withTotp(app, clock, email);
  const script = (await block(PAGE, 'curl -s localhost:3000/auth/login')).replaceAll(
    'localhost:3000',
    address.replace('http://', ''),
  );
  const r = await bash(
    script,
    { EMAIL: email, PASSWORD: password, CODE: codeAt(secret, clock.now()) },
    await tempDir(t, 'tessera-mfa-docs-'),
  );
  t.equal(r.code, 0, `the block exits 0 (stderr: ${r.stderr.slice(0, 300)})`);
  t.match(r.stdout, `"factor_id":"${factorId}","type":"totp"`, 'the first answer asks for the factor');
  t.match(r.stdout, /^HTTP\/1\.1 200 /m, 'the second step answers 200');
  t.match(r.stdout, /^set-cookie: [^=]+=[^;]+;/im, 'with the refresh cookie');
  t.match(r.stdout, /"access_token":"[\w-]+\.[\w-]+\.[\w-]+"/, 'and the access token');
});
