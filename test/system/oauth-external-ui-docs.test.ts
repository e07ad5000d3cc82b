// The commands docs/oauth-par-and-custom-ui.md gives the backend of your own login page, run as written with
// bash and curl against a listening Tessera: they read a real pending login and accept it, and the browser that
// follows the answer's redirect_to is signed in and goes on to the consent step.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTestApp, register } from '../helper.js';
import { secretClient } from '../authz-fixtures.js';
import { Browser, authorizeQuery, pkce, registerClient } from '../oauth-server-fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGE = 'docs/oauth-par-and-custom-ui.md';

/** The sh block of the page whose first command starts with `first`. */
async function block(first: string): Promise<string> {
  const text = await readFile(path.join(ROOT, PAGE), 'utf8');
  for (const m of text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    const lines = m[1]!.split('\n');
    if (lines.find((l) => !l.startsWith('#'))?.startsWith(first)) return lines.join('\n');
  }
  throw new Error(`${PAGE} has no sh block starting with ${first}`);
}

t.test(`${PAGE}: the login page's two calls read the pending login and accept it`, async (t) => {
  const ui = secretClient('login-app', 'scope=authorization_ui');
  const { app, config } = await buildTestApp(t, {
    env: { SERVICE_CLIENTS: ui.entry, LOGIN_UI_URL: 'https://login.example.com/login' },
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const { client } = await registerClient(app);
  const { user } = await register(app);
  const browser = new Browser(app);
  const sent = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, pkce().challenge)}`);
  const challenge = new URL(String(sent.headers.location)).searchParams.get('login_challenge')!;

  const script = await block('curl -sf -w');
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      'bash',
      ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script],
      {
        cwd: ROOT,
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? '',
          TESSERA: address,
          UI_CLIENT: ui.id,
          UI_SECRET: ui.secret,
          CHALLENGE: challenge,
          USER_ID: user.id,
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
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
