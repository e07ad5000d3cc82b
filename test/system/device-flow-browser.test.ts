// The device flow end to end with real clients: a child Node process stands in for a CLI
// (examples/device-cli/login.ts, openid-client at its default settings: initiateDeviceAuthorization, then
// pollDeviceAuthorizationGrant) against a listening Tessera, while headless Chromium with JavaScript disabled,
// driven by the keyboard only, signs the user in on the verification page, confirms the prefilled code and
// presses Approve. The CLI ends with tokens that verify against Tessera's JWKS.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import t from 'tap';
import { chromium } from 'playwright-core';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { PASSWORD, buildTestApp, register } from '../helper.js';
import { freePort } from '../free-port.js';
import { SystemClock, registerDeviceClient } from '../device-fixtures.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

t.test('a CLI on openid-client gets tokens once the user approves its code in a browser, keyboard only', async (t) => {
  const port = await freePort();
  // localhost: a secure context for Chromium, so the __Host- cookies of the pages are kept over plain http.
  const issuer = `http://localhost:${port}`;
  const { app, config } = await buildTestApp(t, { env: { ISSUER: issuer }, clock: new SystemClock() });
  await app.listen({ port, host: '127.0.0.1' });
  const { client } = await registerDeviceClient(app);
  const user = await register(app);

  const cli = spawn(
    process.execPath,
    ['--import', 'tsx', 'examples/device-cli/login.ts', '--issuer', issuer, '--client-id', client.id],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  let stderr = '';
  cli.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => cli.on('exit', resolve));
  t.teardown(() => {
    if (cli.exitCode === null) cli.kill();
  });
  const lines = createInterface({ input: cli.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  t.notOk(first.done, `the CLI prints its code (stderr: ${stderr.slice(0, 300)})`);
  const shown = JSON.parse(first.value as string);
  t.match(shown.user_code, /^[A-Z]{4}-[A-Z]{4}$/, 'the CLI shows an XXXX-XXXX code');

  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      `--host-resolver-rules=MAP localhost:${port} 127.0.0.1:${port}`,
    ],
  });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(shown.verification_uri_complete);
  t.match(await page.textContent('h1'), /Sign in/, 'a signed-out user is asked to sign in first');
  t.equal(await page.locator(':focus').getAttribute('id'), 'email', 'the email field has the focus');
  await page.keyboard.type(user.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  t.equal(await page.inputValue('#user_code'), shown.user_code, 'back on the device page, the code is prefilled');
  t.equal(await page.locator(':focus').getAttribute('id'), 'user_code', 'the code field has the focus');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  t.match(await page.textContent('h1'), /Notes CLI on a device wants to access your account/, 'the client is named');
  t.equal(await page.textContent('#device-code'), shown.user_code, 'with the code to compare');
  t.equal(await page.textContent('#device-ip'), '127.0.0.1', "and the device's address");
  t.match(await page.textContent('#device-agent'), /\S/, "and the device's user agent");
  // Keyboard only: Tab moves to Approve (the first button), Enter presses it.
  let focused = '';
  for (let i = 0; i < 5 && focused !== 'Approve'; i++) {
    await page.keyboard.press('Tab');
    focused =
      (await page
        .locator(':focus')
        .textContent()
        .catch(() => '')) ?? '';
  }
  t.equal(focused, 'Approve', 'Approve is reached with the Tab key');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  t.equal(await page.textContent('#device-done'), 'Device approved', 'the page confirms the approval');

  const second = await lines.next();
  t.notOk(second.done, `the CLI prints its tokens (stderr: ${stderr.slice(0, 300)})`);
  const tokens = JSON.parse(second.value as string);
  t.equal(await exited, 0, 'the CLI exits cleanly');
  t.equal(tokens.sub, user.user.id, 'the ID token, validated by openid-client, names the approving user');
  t.ok(tokens.refresh_token, 'offline_access gave a refresh token');
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(tokens.access_token, jwks, {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: ['RS256'],
  });
  t.equal(payload.sub, user.user.id, 'the access token verifies against the JWKS and names the user');
  t.equal(payload.client_id, client.id, 'and the client');
});
