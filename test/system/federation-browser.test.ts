// A sign-in with a provider in a real browser: headless Chromium (Debian's `chromium`, at /usr/bin/chromium
// or CHROMIUM_PATH) driven by playwright-core, which downloads no browser. An SPA page on localhost has a
// "Sign in" link to /start; the browser goes to the test OpenID provider (oidc-provider, on 127.0.0.1: a
// different site), back to Tessera's callback, and on to the SPA, which then does what it does on every
// page load: POST /auth/refresh with the HttpOnly cookie, then GET /auth/me with the access token.
import { createServer } from 'node:http';
import t from 'tap';
import { chromium } from 'playwright-core';
import { federationFixture } from '../federation-fixture.js';
import { freePort } from '../free-port.js';
import { uniqueEmail } from '../helper.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function spaPage(tessera: string): string {
  return `<!doctype html><meta charset="utf-8"><title>SPA</title>
<a id="signin" href="${tessera}/auth/oauth/local/start?return_to=${encodeURIComponent('SPA_ORIGIN/app')}">Sign in with Local provider</a>
<pre id="out">loading</pre>
<script>
(async () => {
  const out = document.getElementById('out');
  const error = new URLSearchParams(location.search).get('error');
  if (error) { out.textContent = 'error ' + error; return; }
  const r = await fetch('${tessera}/auth/refresh', { method: 'POST', credentials: 'include' });
  if (r.status !== 200) { out.textContent = 'signed out ' + r.status; return; }
  const { access_token } = await r.json();
  const m = await fetch('${tessera}/auth/me', { headers: { authorization: 'Bearer ' + access_token } });
  out.textContent = 'signed in ' + (await m.json()).email;
})();
</script>`;
}

t.test('a user signs in through the provider in Chromium and the SPA then refreshes and reads /auth/me', async (t) => {
  const spaPort = await freePort();
  const spaOrigin = `http://localhost:${spaPort}`;
  const f = await federationFixture(t, {
    hostname: 'localhost',
    env: { CORS_ORIGINS: spaOrigin, RETURN_TO_ORIGINS: spaOrigin },
  });
  const html = spaPage(f.tessera).replace('SPA_ORIGIN', spaOrigin);
  const spa = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
  await new Promise<void>((resolve) => spa.listen(spaPort, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        spa.closeAllConnections();
        spa.close(() => resolve());
      }),
  );

  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const email = uniqueEmail();
  f.idp.next = { sub: 'browser-user', email, email_verified: true };

  await page.goto(`${spaOrigin}/`);
  await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'loading');
  t.match(await page.textContent('#out'), /^signed out 401$/, 'before: no session');

  await Promise.all([page.waitForURL(`${spaOrigin}/app`), page.click('#signin')]);
  await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'loading');
  t.equal(
    await page.textContent('#out'),
    `signed in ${email}`,
    "after the sign-in the SPA shows the provider's email from /auth/me",
  );
  const cookies = await page.context().cookies(f.tessera);
  t.match(
    cookies.find((c) => c.name === '__Host-tessera_refresh'),
    { httpOnly: true, secure: true, sameSite: 'Strict' },
    'the refresh cookie is HttpOnly, Secure and SameSite=Strict',
  );
  t.notOk(
    cookies.find((c) => c.name === '__Host-tessera_oauth'),
    'the flow cookie is gone',
  );

  await page.reload();
  await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'loading');
  t.equal(await page.textContent('#out'), `signed in ${email}`, 'a reload refreshes again');
});
