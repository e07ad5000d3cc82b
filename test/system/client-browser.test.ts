// @tessera/client in real Chromium (Debian's `chromium`, or CHROMIUM_PATH, driven by playwright-core): the
// example SPA (examples/spa, loading the built SDK from packages/client/dist) open in two, then five tabs of one
// browser. Time is moved on both sides, the server's clock (a ManualClock) and the browser's (Playwright's
// clock, shared by the tabs of a context), so access tokens really expire without waiting for them.
// Tessera's own request log counts every POST /auth/refresh. A sign-out in one tab signs out all; a session
// ended from another device reaches every tab as session_ended with the server's reason. Run twice: the SPA and Tessera on one origin
// (the SPA's server forwards /auth/* as a reverse proxy would), and on two origins of one site
// (http://localhost:A calling http://localhost:B, listed in CORS_ORIGINS).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { serveSpa } from '../../examples/spa/server.js';
import { freePort } from '../free-port.js';
import { ManualClock, PASSWORD, buildTestApp, uniqueEmail } from '../helper.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const TTL = 60; // ACCESS_TOKEN_TTL_SECONDS's minimum

declare global {
  interface Window {
    tessera: import('../../packages/client/src/index.js').TesseraClient;
  }
}

t.before(async () => {
  // The SPA loads the SDK as published: its compiled dist/ (tsc -b: nothing to do when it is up to date).
  await new Promise<void>((resolve, reject) =>
    execFile('npm', ['run', 'build', '--workspace=@tessera/client'], { cwd: ROOT }, (err, _out, stderr) =>
      err ? reject(new Error(`building @tessera/client failed: ${stderr}`)) : resolve(),
    ),
  );
});

/** How many of a tab's events of this kind the example SPA has listed. */
const eventCount = (page: Page, event: string) =>
  page.evaluate(
    (e) =>
      Array.from(document.querySelectorAll('#events li')).filter((li) => li.textContent!.startsWith(`${e} `)).length,
    event,
  );

async function openTab(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status')!.textContent !== 'loading');
  return page;
}

for (const mode of ['same origin', 'cross origin'] as const) {
  t.test(`${mode}: N tabs renew an expiring token with one refresh, keep working, and sign out together`, async (t) => {
    const spaPort = await freePort();
    const tesseraPort = await freePort();
    const spaOrigin = `http://localhost:${spaPort}`;
    const tesseraOrigin = `http://localhost:${tesseraPort}`;
    const clock = new ManualClock(new Date());
    const { app, logs } = await buildTestApp(t, {
      clock,
      captureLogs: true,
      env: {
        ISSUER: tesseraOrigin,
        ACCESS_TOKEN_TTL_SECONDS: String(TTL),
        ...(mode === 'cross origin' ? { CORS_ORIGINS: spaOrigin } : {}),
      },
    });
    await app.listen({ port: tesseraPort, host: '127.0.0.1' });
    const spa = await serveSpa({ port: spaPort, tessera: tesseraOrigin, proxy: mode === 'same origin' });
    t.teardown(
      () =>
        new Promise<void>((resolve) => {
          spa.closeAllConnections();
          spa.close(() => resolve());
        }),
    );
    const refreshes = () =>
      logs.filter((l) => l.msg === 'request' && l.method === 'POST' && l.path === '/auth/refresh');

    const browser = await chromium.launch({
      executablePath,
      headless: true,
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
    t.teardown(() => browser.close());
    const context = await browser.newContext();
    await context.clock.install();

    const first = await openTab(context, `${spaOrigin}/`);
    t.equal(await first.textContent('#status'), 'signed out', 'a first visit has no session');
    const email = uniqueEmail();
    await first.fill('input[name=email]', email);
    await first.fill('input[name=password]', PASSWORD);
    await first.click('button[value=register]');
    await first.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('signed in as'));
    t.equal(await first.textContent('#status'), `signed in as ${email}`, 'register then sign in, through the SDK');
    const pages = [first, await openTab(context, `${spaOrigin}/`)];
    t.equal(await pages[1]!.textContent('#status'), `signed in as ${email}`, 'a second tab is signed in');
    const atStart = refreshes().length;
    t.ok(atStart <= 1, 'a tab opened next to a signed-in one takes its token (at most one refresh if none answered)');

    /** Both clocks pass the token's lifetime; every tab must renew and go on working. */
    async function expire(what: string) {
      const before = refreshes().length;
      const seen = await Promise.all(pages.map((p) => eventCount(p, 'token_refreshed')));
      const old = await pages[0]!.evaluate(() => window.tessera.accessToken());
      clock.advance(TTL + 1);
      await context.clock.fastForward((TTL + 1) * 1000);
      await Promise.all(
        pages.map((p, i) =>
          p.waitForFunction(
            (n) =>
              Array.from(document.querySelectorAll('#events li')).filter((li) =>
                li.textContent!.startsWith('token_refreshed '),
              ).length > n,
            seen[i],
          ),
        ),
      );
      const emails = await Promise.all(pages.map((p) => p.evaluate(async () => (await window.tessera.user()).email)));
      t.same(
        emails,
        pages.map(() => email),
        `${what}: every tab's API call works after the expiry`,
      );
      const tokens = new Set(await Promise.all(pages.map((p) => p.evaluate(() => window.tessera.accessToken()))));
      t.equal(tokens.size, 1, `${what}: every tab holds the same new token`);
      t.notOk(tokens.has(old), `${what}: not the expired one`);
      t.equal(refreshes().length - before, 1, `${what}: exactly one POST /auth/refresh for ${pages.length} tabs`);
      t.same(
        refreshes()
          .slice(before)
          .map((l) => l.statusCode),
        [200],
        `${what}: and it succeeded`,
      );
    }

    await expire('two tabs');
    for (let i = 0; i < 3; i++) pages.push(await openTab(context, `${spaOrigin}/`));
    for (const p of pages)
      t.equal(await p.textContent('#status'), `signed in as ${email}`, 'each new tab is signed in');
    await expire('five tabs');
    await expire('five tabs, a second time');

    // The server's clock alone moves: the tabs still think their token good and meet a 401 together.
    const before = refreshes().length;
    clock.advance(TTL + 1);
    const emails = await Promise.all(pages.map((p) => p.evaluate(async () => (await window.tessera.user()).email)));
    t.same(
      emails,
      pages.map(() => email),
      'after a 401 in every tab at once, every call is retried and answered',
    );
    t.equal(refreshes().length - before, 1, 'five tabs meeting a 401 together cause one POST /auth/refresh');

    // Sign out in the third tab: every tab signs out, and the refresh cookie is gone.
    await pages[2]!.evaluate(() => window.tessera.signOut());
    await Promise.all(
      pages.map((p) => p.waitForFunction(() => document.getElementById('status')!.textContent === 'signed out')),
    );
    for (const [i, p] of pages.entries())
      t.equal(await p.evaluate(() => window.tessera.signedIn), false, `tab ${i + 1} holds no token after the sign-out`);
    const cookieOrigin = mode === 'same origin' ? spaOrigin : tesseraOrigin;
    t.notOk(
      (await context.cookies(cookieOrigin)).find((c) => c.name === '__Host-tessera_refresh' && c.value !== ''),
      'the refresh cookie is cleared',
    );
    const afterOut = await pages[0]!.evaluate(() =>
      window.tessera.user().then(
        () => 'answered',
        (err: { code: string }) => err.code,
      ),
    );
    t.equal(afterOut, 'missing_token', 'a signed-out tab gets no answer from the API');
    const reopened = await openTab(context, `${spaOrigin}/`);
    t.equal(await reopened.textContent('#status'), 'signed out', 'a tab opened afterwards finds no session');

    // Signed in again in one tab, then ended from another device ("sign out everywhere" there): at the next
    // renewal every tab is told why.
    await reopened.evaluate((e) => window.tessera.signIn(e.email, e.password), { email, password: PASSWORD });
    await Promise.all(
      pages.map((p) =>
        p.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('signed in')),
      ),
    );
    const elsewhere = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
    const ended = await app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: { authorization: `Bearer ${elsewhere.json().access_token}` },
    });
    t.equal(ended.statusCode, 204, 'another device ends every session of the user');
    clock.advance(TTL + 1);
    await context.clock.fastForward((TTL + 1) * 1000);
    const reasons = await Promise.all(
      [...pages, reopened].map(async (p) => {
        await p.waitForFunction(() => document.getElementById('status')!.textContent === 'signed out');
        return p.evaluate(() =>
          Array.from(document.querySelectorAll('#events li'))
            .map((li) => li.textContent!)
            .filter((text) => text.startsWith('session_ended ')),
        );
      }),
    );
    t.same(
      reasons,
      [...pages, reopened].map(() => ['session_ended {"reason":"session_revoked"}']),
      'every tab is signed out and hears that the session was revoked',
    );

    // A provider sign-in leaves the page for Tessera's start URL, naming where to come back to.
    const apiOrigin = mode === 'same origin' ? spaOrigin : tesseraOrigin;
    const back = `${spaOrigin}/after`;
    await Promise.all([
      reopened.waitForURL(/\/auth\/oauth\/github\/start/),
      reopened.evaluate((b) => window.tessera.signInWith('github', b), back),
    ]);
    t.equal(
      reopened.url(),
      `${apiOrigin}/auth/oauth/github/start?return_to=${encodeURIComponent(back)}`,
      "signInWith goes to the provider's start URL at Tessera with return_to",
    );
  });
}
