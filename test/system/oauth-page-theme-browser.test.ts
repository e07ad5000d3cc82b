// What Chromium shows of a re-templated sign-in page: the overridden wording, the product name as literal text
// (a name made of markup builds no element and runs nothing), and the configured colour on the button.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { buildTestApp, tempDir } from '../helper.js';
import { freePort } from '../free-port.js';
import { SystemClock, authorizeQuery, pkce, registerClient } from '../oauth-server-fixtures.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HOSTILE = '<img src=x onerror=alert(1)><script>alert(2)</script>';

t.test('Chromium shows the override, the product name as text, and the configured colour', async (t) => {
  const dir = await tempDir(t, 'tessera-pages-');
  await writeFile(path.join(dir, 'wording.json'), JSON.stringify({ login_heading: 'Welcome to {{product}}' }));
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const { app } = await buildTestApp(t, {
    env: { ISSUER: issuer, PAGES_PRODUCT_NAME: HOSTILE, PAGES_PRIMARY_COLOR: '123456', PAGES_TEMPLATES_DIR: dir },
    clock: new SystemClock(),
  });
  await app.listen({ port, host: '127.0.0.1' });
  const { client } = await registerClient(app);

  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      `--host-resolver-rules=MAP localhost:${port} 127.0.0.1:${port}`,
    ],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${issuer}/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`);

  t.equal(await page.textContent('h1'), `Welcome to ${HOSTILE}`, 'the heading is the override, the name as text');
  t.equal(await page.locator('script').count(), 0, 'the product name built no script element');
  t.equal(await page.locator('img').count(), 0, 'nor an image');
  const color = await page.locator('button[type=submit]').evaluate((b) => getComputedStyle(b).backgroundColor);
  t.equal(color, 'rgb(18, 52, 86)', 'the button has the configured colour');
  t.same(dialogs, [], 'nothing ran');
});
