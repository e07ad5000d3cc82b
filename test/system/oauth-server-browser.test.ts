// The built-in sign-in and consent pages in a real browser, driven the way a keyboard user drives them:
// headless Chromium (Debian's `chromium`, at /usr/bin/chromium or CHROMIUM_PATH) through playwright-core,
// with JavaScript turned off in the browser context, so the pages are proven to need none. Each page's strict
// CSP is read off the wire, every field must have a label, and focus must be visible on each control reached
// with Tab. A second authorization in the same browser goes straight to the app: the SSO cookie stands in
// for the password and the remembered consent for the consent page.
import { createServer } from 'node:http';
import t from 'tap';
import { chromium, type Page, type Response } from 'playwright-core';
import { buildTestApp, ManualClock, register } from '../helper.js';
import { freePort } from '../free-port.js';
import { meta, pkce } from '../oauth-server-fixtures.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

class SystemClock extends ManualClock {
  override now(): Date {
    return new Date();
  }
}

/** The CSP of a page, as directives. */
function cspOf(response: Response): Map<string, string[]> {
  const header = response.headers()['content-security-policy'] ?? '';
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

/** Enter on the focused control, then waits until the page it submits to (or is sent to) has loaded. */
async function pressEnterAndLoad(page: Page) {
  await Promise.all([page.waitForEvent('framenavigated'), page.keyboard.press('Enter')]);
  await page.waitForLoadState('load');
}

/** What the focused element is and whether the browser draws its focus ring. */
function focused(page: Page) {
  return page.locator(':focus').evaluate((el) => {
    const style = getComputedStyle(el);
    return {
      id: el.id,
      tag: el.tagName.toLowerCase(),
      text: (el.textContent ?? '').trim(),
      focusVisible: el.matches(':focus-visible'),
      outline: `${style.outlineStyle} ${style.outlineWidth}`,
    };
  });
}

/** Every control a user can reach, with the accessible name it gets from a label or its own text. */
function unlabelledControls(page: Page) {
  return page.locator('input:not([type=hidden]), button, select, textarea').evaluateAll((els) =>
    els
      .filter((el) => {
        const labels = (el as HTMLInputElement).labels;
        const labelText = labels ? Array.from(labels, (l) => (l.textContent ?? '').trim()).join('') : '';
        const ownText = el.tagName === 'BUTTON' ? (el.textContent ?? '').trim() : '';
        return !labelText && !ownText && !el.getAttribute('aria-label');
      })
      .map((el) => el.outerHTML),
  );
}

t.test(
  'a keyboard user signs in and consents with JavaScript off, and the second authorization skips both',
  async (t) => {
    const port = await freePort();
    // localhost: a secure context for Chromium over plain HTTP, so the __Host- cookies are kept.
    const issuer = `http://localhost:${port}`;
    const { app } = await buildTestApp(t, { env: { ISSUER: issuer }, clock: new SystemClock() });
    await app.listen({ port, host: '127.0.0.1' });
    const { client } = await app.services.oauthClients.register(
      {
        client_name: 'Notes for Desktop',
        redirect_uris: ['http://127.0.0.1/callback'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid email offline_access',
      },
      { kind: 'cli' },
      meta,
    );
    const user = await register(app);

    // The native app's loopback listener: it records where the browser lands.
    const landed: URL[] = [];
    const callback = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/callback') landed.push(url);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('You can close this window.');
    });
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    t.teardown(
      () =>
        new Promise<void>((resolve) => {
          callback.closeAllConnections();
          callback.close(() => resolve());
        }),
    );
    const redirectUri = `http://127.0.0.1:${(callback.address() as { port: number }).port}/callback`;
    const authorizeUrl = (state: string) =>
      `${issuer}/oauth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: client.id,
        redirect_uri: redirectUri,
        scope: 'openid email offline_access',
        state,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      })}`;

    const browser = await chromium.launch({
      executablePath,
      headless: true,
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
    t.teardown(() => browser.close());
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const documents: Response[] = [];
    page.on('response', (r) => {
      if (r.request().resourceType() === 'document' && r.url().startsWith(issuer)) documents.push(r);
    });
    const cspViolations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });

    const checkPage = async (name: string) => {
      const response = documents.at(-1)!;
      const csp = cspOf(response);
      t.same(csp.get('default-src'), ["'none'"], `${name}: nothing loads that the CSP does not name`);
      t.notOk(csp.has('script-src'), `${name}: no script source at all (default-src 'none' covers it)`);
      t.match(csp.get('style-src'), [/^'nonce-[A-Za-z0-9+/=]+'$/], `${name}: the one style block is allowed by nonce`);
      t.same(csp.get('frame-ancestors'), ["'none'"], `${name}: no site may frame the page`);
      t.same(
        csp.get('form-action'),
        ["'self'", new URL(redirectUri).origin],
        `${name}: forms post only to Tessera or back to the app`,
      );
      t.notMatch(response.headers()['content-security-policy'], /unsafe-/, `${name}: no unsafe- keyword`);
      t.same(await unlabelledControls(page), [], `${name}: every control has a label or its own text`);
    };

    // First authorization: the sign-in page.
    await page.goto(authorizeUrl('first'));
    t.equal(await page.title(), 'Sign in', 'the sign-in page is shown');
    await checkPage('sign-in page');
    t.equal(await page.locator('html').getAttribute('lang'), 'en', 'the page names its language');
    t.equal(await page.getByLabel('Email').count(), 1, 'the email field is found by its label');
    t.equal(await page.getByLabel('Password').count(), 1, 'the password field is found by its label');

    // Keyboard only: the page opens with focus in the email field, then Tab goes to password, then the button.
    let now = await focused(page);
    t.equal(now.id, 'email', 'the page opens with focus in the email field');
    t.ok(now.focusVisible, 'focus on the email field is shown');
    t.equal(now.outline, 'solid 3px', 'with the 3px focus ring');
    await page.keyboard.type(user.email);
    await page.keyboard.press('Tab');
    now = await focused(page);
    t.equal(now.id, 'password', 'Tab reaches the password field next');
    t.ok(now.focusVisible, 'focus on the password field is shown');
    await page.keyboard.type('not the password');
    await pressEnterAndLoad(page);

    // A wrong password: the page comes back with the error tied to the email field and the email kept.
    t.equal(documents.at(-1)!.status(), 401, 'a wrong password answers 401 with the sign-in page');
    await checkPage('sign-in page with an error');
    t.match(await page.getByRole('alert').textContent(), /./, 'the error is announced as an alert');
    t.equal(await page.getByLabel('Email').getAttribute('aria-describedby'), 'login-error', 'and tied to the field');
    t.equal(await page.getByLabel('Email').inputValue(), user.email, 'the email is kept');
    now = await focused(page);
    t.equal(now.id, 'email', 'focus starts in the email field again');
    await page.keyboard.press('Tab');
    t.equal((await focused(page)).id, 'password', 'Tab goes to the password field');
    await page.keyboard.type(user.password);
    await page.keyboard.press('Tab');
    now = await focused(page);
    t.match(
      now,
      { tag: 'button', text: 'Sign in', focusVisible: true, outline: 'solid 3px' },
      'then the Sign in button, with its focus ring',
    );
    await pressEnterAndLoad(page);

    // The consent page.
    t.equal(await page.title(), 'Allow access?', 'after signing in, the consent page is shown');
    await checkPage('consent page');
    t.match(await page.textContent('h1'), /Notes for Desktop/, 'the consent page names the app');
    t.match(await page.textContent('main'), /127\.0\.0\.1/, 'and the host it will be sent back to');
    await page.keyboard.press('Tab');
    now = await focused(page);
    t.match(
      now,
      { tag: 'button', text: 'Allow', focusVisible: true, outline: 'solid 3px' },
      'Tab reaches Allow first, with its focus ring',
    );
    await page.keyboard.press('Tab');
    t.match(await focused(page), { tag: 'button', text: 'Deny', focusVisible: true }, 'then Deny');
    await page.keyboard.press('Shift+Tab');
    t.match(await focused(page), { text: 'Allow' }, 'Shift+Tab goes back to Allow');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.keyboard.press('Enter')]);

    t.equal(landed.length, 1, 'the browser landed on the app once');
    t.equal(landed[0]!.searchParams.get('state'), 'first', 'with its state');
    t.ok(landed[0]!.searchParams.get('code'), 'and a code');
    t.equal(landed[0]!.searchParams.get('iss'), issuer, 'and the issuer (RFC 9207)');
    const cookies = await context.cookies(issuer);
    t.match(
      cookies.find((c) => c.name === '__Host-tessera_sso'),
      { httpOnly: true, secure: true, sameSite: 'Lax', path: '/' },
      'the browser session cookie is __Host-, HttpOnly and SameSite=Lax',
    );

    // Second authorization in the same browser: no sign-in page and no consent page.
    const before = documents.length;
    await page.goto(authorizeUrl('second'));
    t.ok(page.url().startsWith(redirectUri), 'the second authorization goes straight back to the app');
    t.equal(landed.length, 2, 'the app received a second redirect');
    t.equal(landed[1]!.searchParams.get('state'), 'second', 'for the second request');
    t.ok(landed[1]!.searchParams.get('code'), 'with a code');
    t.same(
      documents.slice(before).map((r) => r.status()),
      [303],
      'Tessera answered with the redirect alone: no page was shown',
    );
    // The page for a request that cannot be answered by a redirect carries the same policy.
    await page.goto(
      authorizeUrl('third').replace(encodeURIComponent(redirectUri), encodeURIComponent('http://evil.test/cb')),
    );
    t.equal(documents.at(-1)!.status(), 400, 'an unregistered redirect URI gets the error page');
    t.equal(await page.title(), 'Cannot continue', 'not a redirect');
    t.same(cspOf(documents.at(-1)!).get('frame-ancestors'), ["'none'"], 'the error page cannot be framed either');
    t.same(cspOf(documents.at(-1)!).get('default-src'), ["'none'"], 'and loads nothing');
    t.same(cspViolations, [], 'the browser reported no CSP violation on any page');
  },
);
