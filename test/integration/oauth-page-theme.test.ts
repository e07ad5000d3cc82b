// The built-in pages re-templated like the mail templates: PAGES_PRODUCT_NAME, PAGES_LOGO_URL, the two colours
// and a PAGES_TEMPLATES_DIR (wording.json, style.css) change what the sign-in, consent and error pages show;
// every value stays text (a product or client name full of markup is shown, not obeyed); the CSP stays strict;
// a bad setting or file stops the boot.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildTestApp, register, tempDir } from '../helper.js';
import { Browser, authorizeQuery, pkce, registerClient } from '../oauth-server-fixtures.js';

const HOSTILE = '<script>alert(1)</script> & "Co"';

t.test('a product name, logo, colours and wording override change the pages, as text', async (t) => {
  const dir = await tempDir(t, 'tessera-pages-');
  await writeFile(
    path.join(dir, 'wording.json'),
    JSON.stringify({
      login_heading: 'Welcome to {{product}}: continue to {{client}}',
      login_button: 'Continue',
      consent_heading: '{{client}} asks for your {{product}} account',
    }),
  );
  await writeFile(path.join(dir, 'style.css'), 'main{border-width:3px}');
  const { app } = await buildTestApp(t, {
    env: {
      PAGES_PRODUCT_NAME: HOSTILE,
      PAGES_LOGO_URL: 'https://cdn.example.com/logo.png',
      PAGES_PRIMARY_COLOR: '123456',
      PAGES_TEMPLATES_DIR: dir,
    },
  });
  const { client } = await registerClient(app, { client_name: '<img src=x onerror=alert(2)>' });
  const user = await register(app);
  const browser = new Browser(app);
  const login = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`);

  t.equal(login.statusCode, 200, 'the sign-in page is shown');
  t.match(
    login.body,
    '<h1>Welcome to &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;: continue to &lt;img src=x onerror=alert(2)&gt;</h1>',
    'the heading is the override, with the product and client names escaped',
  );
  t.notMatch(login.body, '<script>', 'a product name cannot inject a script element');
  t.notMatch(login.body, '<img src=x', 'a client name cannot inject an element');
  t.match(login.body, '>Continue</button>', 'the button says the override');
  t.match(login.body, '<img src="https://cdn.example.com/logo.png"', 'the logo is shown');
  t.match(login.body, '--primary:#123456', 'the primary colour is applied');
  t.match(login.body, 'main{border-width:3px}', 'style.css is appended to the stylesheet');
  const csp = String(login.headers['content-security-policy']);
  t.match(csp, "default-src 'none'", 'the CSP still denies everything by default');
  t.match(csp, /style-src 'nonce-[^']+';/, 'styles only by nonce');
  t.match(csp, 'img-src https://cdn.example.com', 'images only from the logo origin');
  t.notMatch(csp, 'unsafe-inline', 'nothing inline is allowed');
  t.notMatch(csp, 'script-src', 'and no script source at all');

  const consent = await browser.signIn(login, user.email);
  t.match(
    consent.body,
    '&lt;img src=x onerror=alert(2)&gt; asks for your &lt;script&gt;',
    'the consent heading is the override, escaped',
  );
  t.match(consent.body, '>Allow</button>', 'phrases not overridden keep the built-in wording');

  const error = await browser.get('/oauth/authorize?client_id=nope');
  t.match(error.body, 'This sign-in cannot continue', 'the error page keeps its built-in heading');
  t.match(error.body, 'class="product">&lt;script&gt;', 'and shows the product name, escaped');
});

t.test('the built-in look is unchanged when nothing is configured', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app, { client_name: 'Notes' });
  const page = await new Browser(app).get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`);
  t.match(page.body, '<h1>Sign in to continue to Notes</h1>', 'the built-in heading');
  t.match(page.body, 'class="product">Tessera</span>', 'the product name defaults to MAIL_PRODUCT_NAME');
  t.notMatch(page.body, '<img', 'no logo');
  t.notMatch(String(page.headers['content-security-policy']), 'img-src', 'and no image source');
});

t.test('a bad page setting or template file stops the boot', async (t) => {
  const dir = await tempDir(t, 'tessera-pages-');
  await t.rejects(buildTestApp(t, { env: { PAGES_PRIMARY_COLOR: 'red;}body{' } }), /PAGES_PRIMARY_COLOR/, 'a colour');
  await t.rejects(
    buildTestApp(t, { env: { PAGES_LOGO_URL: 'http://cdn.example.com/x.png' } }),
    /PAGES_LOGO_URL/,
    'a logo over http',
  );
  await writeFile(path.join(dir, 'style.css'), 'main{}</style><script>alert(1)</script>');
  await t.rejects(buildTestApp(t, { env: { PAGES_TEMPLATES_DIR: dir } }), /style\.css/, 'markup in style.css');
  await writeFile(path.join(dir, 'style.css'), '');
  await writeFile(path.join(dir, 'wording.json'), '{"login_headng": "typo"}');
  await t.rejects(buildTestApp(t, { env: { PAGES_TEMPLATES_DIR: dir } }), /login_headng/, 'an unknown phrase');
});
