// The consent page of a client named by its metadata document, in a real browser (headless Chromium through
// playwright-core, JavaScript off): the Unverified application note is a labelled note in words, the full
// client_id URL is shown as text (no link), whole even when it is long and the window narrow, the page keeps its
// strict CSP with no violation, and a keyboard user still reaches Allow first.
import t from 'tap';
import { chromium } from 'playwright-core';
import { buildTestApp, ManualClock, register } from '../helper.js';
import { freePort } from '../free-port.js';
import { pkce } from '../oauth-server-fixtures.js';
import { startDocumentServer } from '../client-document-server.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

class SystemClock extends ManualClock {
  override now(): Date {
    return new Date();
  }
}

t.test('a document client’s consent page shows its whole client_id URL as an unverified note', async (t) => {
  const fixture = await startDocumentServer(t);
  // Near the 128-character limit of a client_id, with no hyphen or space to break a line at.
  const path = `/agents/${'longsegment'.repeat(7)}/client.json`;
  const clientId = `${fixture.origin}${path}`;
  fixture.json(path, { client_id: clientId, client_name: 'Notes Agent', redirect_uris: ['http://127.0.0.1/callback'] });
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const { app } = await buildTestApp(t, {
    env: { ISSUER: issuer, CLIENT_ID_METADATA_DOCUMENTS: 'true' },
    documentFetch: { allowLoopback: true, ca: fixture.ca },
    clock: new SystemClock(),
  });
  await app.listen({ port, host: '127.0.0.1' });
  const user = await register(app);

  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  t.teardown(() => browser.close());
  // A phone-sized window: the URL must wrap, not run off the page.
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  let lastCsp = '';
  page.on('response', (r) => {
    if (r.request().resourceType() === 'document' && r.url().startsWith(issuer))
      lastCsp = r.headers()['content-security-policy'] ?? '';
  });
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  await page.goto(
    `${issuer}/oauth/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'http://127.0.0.1:53123/callback',
      scope: 'openid email',
      state: 's',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    })}`,
  );
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await Promise.all([page.waitForEvent('framenavigated'), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.waitForLoadState('load');

  t.equal(await page.title(), 'Allow access?', 'the consent page is shown');
  const note = page.getByRole('note', { name: 'Unverified application.' });
  t.equal(await note.count(), 1, 'the warning is a note named by its own heading, in words');
  const shown = page.locator('[data-client-id]');
  t.equal((await shown.textContent())?.trim(), clientId, 'the whole client_id URL is shown, path included');
  t.equal(await page.locator('main a').count(), 0, 'as text, never a link to follow');
  const box = await shown.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
  t.ok(box.scroll <= box.client, 'the long URL wraps inside the page instead of being cut off');
  t.match(lastCsp, /default-src 'none'; style-src 'nonce-/, 'the page keeps its strict CSP');
  t.same(cspViolations, [], 'and breaks none of it');
  await page.keyboard.press('Tab');
  const focused = await page.locator(':focus').evaluate((el) => (el.textContent ?? '').trim());
  t.equal(focused, 'Allow', 'a keyboard user still reaches Allow first');
});
