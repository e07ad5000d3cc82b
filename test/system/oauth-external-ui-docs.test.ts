// The commands of docs/oauth-par-and-custom-ui.md, run as written with bash: `npm run clients -- new login-app`
// makes the service client whose secret the login page's backend then uses, with curl against a listening Tessera,
// to read a real pending login and accept it (the browser that follows the answer's redirect_to is signed in and
// goes on to the consent step); `npm run clients -- register` makes a client that must push its requests, on the
// embedded database with the service stopped; and the theming example starts the service with `npm start`, whose
// pages then carry the product name and colour.
import t from 'tap';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../../src/app.js';
import { ManualClock, buildTestApp, register, tempDir, testConfig } from '../helper.js';
import { Browser, authorizeQuery, pkce, registerClient } from '../oauth-server-fixtures.js';
import { bash, bashServer, block as blockOf } from '../doc-shell.js';
import { freePort } from '../free-port.js';

// npm and tsx start per command, and npm start builds first: minutes on a loaded machine.
t.setTimeout(900_000);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGE = 'docs/oauth-par-and-custom-ui.md';
const block = (first: string) => blockOf(PAGE, first);

t.test(`${PAGE}: the login page's two calls read the pending login and accept it`, async (t) => {
  const made = await bash(await block('npm run clients -- new login-app'), {});
  t.equal(made.code, 0, `npm run clients -- new login-app exits 0 (stderr: ${made.stderr.slice(0, 300)})`);
  const secret = /^client_secret: +(\S+)/m.exec(made.stdout)?.[1];
  const entry = /^entry: +(\S+)/m.exec(made.stdout)?.[1];
  t.ok(secret && entry?.startsWith('login-app:'), 'it prints the secret and the entry');
  // As the block's comment says: the entry, with ;scope=authorization_ui, in SERVICE_CLIENTS.
  const { app, config } = await buildTestApp(t, {
    env: { SERVICE_CLIENTS: `${entry};scope=authorization_ui`, LOGIN_UI_URL: 'https://login.example.com/login' },
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const { client } = await registerClient(app);
  const { user } = await register(app);
  const browser = new Browser(app);
  const sent = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`);
  const challenge = new URL(String(sent.headers.location)).searchParams.get('login_challenge')!;

  const r = await bash(await block('curl -sf -w'), {
    TESSERA: address,
    UI_CLIENT: 'login-app',
    UI_SECRET: secret!,
    CHALLENGE: challenge,
    USER_ID: user.id,
  });
  t.equal(r.code, 0, `the commands exit 0 (stderr: ${r.stderr.slice(0, 300)})`);
  const [pending, accepted] = r.stdout.trim().split('\n');
  t.match(JSON.parse(pending!), { kind: 'login', client_id: client.id }, 'the first call shows the pending login');
  const { redirect_to: redirectTo } = JSON.parse(accepted!) as { redirect_to: string };
  t.ok(
    redirectTo.startsWith(`${config.issuer}/oauth/authorize/resume?challenge=`),
    'the second answers where to send the browser',
  );
  const back = await browser.get(new URL(redirectTo).pathname + new URL(redirectTo).search);
  t.equal(back.statusCode, 200, 'the browser is signed in and shown the consent page');
  t.ok(back.body.includes('/oauth/authorize/consent'), 'the built-in consent page, as CONSENT_UI_URL is unset');
});

t.test(`${PAGE}: npm run clients -- register makes a client whose requests must be pushed`, async (t) => {
  const dir = await tempDir(t);
  const env = { DATABASE_URL: `pglite:${path.join(dir, 'data')}`, KEYS_DIR: path.join(dir, 'keys') };
  // The service makes the schema, then stops: the embedded database serves one process, as the block says.
  await (await buildApp({ config: testConfig(env), clock: new ManualClock(new Date()) })).close();
  const r = await bash(await block('npm run clients -- register'), env);
  t.equal(r.code, 0, `register exits 0 (stderr: ${r.stderr.slice(0, 300)})`);
  const app = await buildApp({ config: testConfig(env), clock: new ManualClock(new Date()) });
  t.teardown(() => app.close());
  const client = await app.services.database.prisma.oAuthClient.findFirstOrThrow({ where: { name: 'Bank Web' } });
  t.equal(client.requirePar, true, 'Bank Web must push its authorization requests');
  t.equal(client.authMethod, 'client_secret_basic', 'and authenticates as registered');
});

t.test(`${PAGE}: the theming example starts the service with its product name and colour`, async (t) => {
  const port = await freePort();
  // The block writes pages/ where it runs, the repository root, as a reader's shell would.
  t.teardown(() => rm(path.join(ROOT, 'pages'), { recursive: true, force: true }));
  const keys = await tempDir(t, 'tessera-theme-keys-');
  const server = await bashServer(
    t,
    await block('mkdir -p pages'),
    { PORT: String(port), DATABASE_URL: 'pglite:memory', KEYS_DIR: keys },
    `http://127.0.0.1:${port}/health/ready`,
  );
  const page = await fetch(`http://127.0.0.1:${port}/oauth/authorize`);
  const html = await page.text();
  t.ok(html.includes('Example Cloud'), `the page names the product (${server.output().slice(-300)})`);
  t.ok(html.includes('0f766e'), 'in the primary colour the block set');
});
