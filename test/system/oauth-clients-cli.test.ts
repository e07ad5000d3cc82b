// `npm run clients`: OAuth clients managed on DATABASE_URL without an admin token, through the domain code
// /admin/clients calls. docs/oauth-apps.md's block is run as written with bash; then the commands are held to what the
// service sees: a client the CLI registers completes a code flow, a CLI disable ends the grant it issued,
// each change is audited as made by the CLI, and a secret is printed once.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../../src/app.js';
import { hashClientSecret } from '../../src/domain/tokens/service-clients.js';
import { ManualClock, createTestDatabase, expectError, postgresUrl, register, tempDir, testConfig } from '../helper.js';
import { authorizeCode, exchangeCode, refreshGrant } from '../oauth-server-fixtures.js';

// Each command is its own process opening the database: minutes on a loaded machine.
t.setTimeout(1_800_000);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: ROOT, timeout: 600_000, env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'silent', ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const clients = (url: string, ...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/clients.ts', ...args], { DATABASE_URL: url });

/** A database the CLI can reach from its own process, and a way to run the service on it (one at a time). */
async function sharedDatabase(t: Test) {
  if (postgresUrl) {
    const db = await createTestDatabase();
    t.teardown(() => db.close());
    const keys = await tempDir(t);
    return {
      url: db.url,
      service: () =>
        buildApp({ config: testConfig({ KEYS_DIR: keys }), clock: new ManualClock(new Date()), database: db.database }),
    };
  }
  const dir = await tempDir(t);
  const url = `pglite:${path.join(dir, 'data')}`;
  const config = testConfig({ DATABASE_URL: url, KEYS_DIR: path.join(dir, 'keys') });
  return { url, service: () => buildApp({ config, clock: new ManualClock(new Date()) }) };
}

const NATIVE = JSON.stringify({
  client_name: 'Notes for Desktop',
  redirect_uris: ['http://127.0.0.1/callback'],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  scope: 'openid email offline_access',
});

t.test(
  "docs/oauth-apps.md's npm run clients block runs as written and each step is audited as the CLI's",
  async (t) => {
    const { url, service } = await sharedDatabase(t);
    // The service makes the schema, then stops (the embedded database serves one process).
    await (await service()).close();
    const readme = await readFile(path.join(ROOT, 'docs/oauth-apps.md'), 'utf8');
    const at = readme.indexOf('\n### OAuth clients from the command line\n');
    t.ok(at > 0, 'docs/oauth-apps.md has the section');
    const script = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
    const r = await run('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], { DATABASE_URL: url });
    t.equal(r.code, 0, `the block exits 0 (stderr: ${r.stderr.slice(0, 500)})`);
    const lines = r.stdout.trim().split('\n');
    t.match(lines[0], /^[A-Za-z0-9_-]{22}\tnone\tenabled\tNotes for Desktop$/, 'list shows id, method, state and name');
    t.same(
      lines.slice(1),
      [
        'Notes for Desktop',
        '["http://127.0.0.1/callback","com.example.notes:/callback"]',
        'true',
        'false',
        `deleted ${lines[0]!.split('\t')[0]}`,
      ],
      'show, update, disable, enable and delete print what docs/oauth-apps.md says',
    );

    const app = await service();
    t.teardown(() => app.close());
    const rows = await app.services.database.prisma.auditEvent.findMany({
      where: { type: { startsWith: 'oauth_client_' } },
      orderBy: { id: 'asc' },
      select: { type: true, reason: true },
    });
    t.same(
      rows.map((e) => e.type),
      [
        'oauth_client_registered',
        'oauth_client_updated',
        'oauth_client_disabled',
        'oauth_client_enabled',
        'oauth_client_deleted',
      ],
      'every change wrote its audit row, through the same domain code as /admin/clients',
    );
    t.ok(
      rows.every((e) => /by cli/.test(e.reason ?? '')),
      'each row names the CLI as the actor',
    );
    t.equal(await app.services.oauthClients.get(lines[0]!.split('\t')[0]!), null, 'the client is gone');
  },
);

t.test('a client registered by the CLI signs a user in; a CLI disable ends the grant it issued', async (t) => {
  const { url, service } = await sharedDatabase(t);
  await (await service()).close();
  const registered = await clients(url, 'register', NATIVE);
  t.equal(registered.code, 0, registered.stderr);
  const clientId = JSON.parse(registered.stdout).client_id as string;

  let app = await service();
  const { email } = await register(app);
  const { code, verifier } = await authorizeCode(app, clientId, email);
  const tokens = await exchangeCode(app, clientId, code, verifier);
  t.equal(tokens.statusCode, 200, 'the code flow works for the client the CLI registered');
  await app.close();

  const disabled = await clients(url, 'disable', clientId);
  t.equal(disabled.code, 0, disabled.stderr);
  const enabled = await clients(url, 'enable', clientId);
  t.equal(enabled.code, 0, enabled.stderr);
  app = await service();
  t.teardown(() => app.close());
  expectError(
    t,
    await refreshGrant(app, clientId, tokens.json().refresh_token),
    'invalid_grant',
    'the refresh token of a grant the CLI ended stays dead after the client is enabled again',
  );
  const audit = await app.services.database.prisma.auditEvent.findFirst({ where: { type: 'oauth_client_disabled' } });
  t.match(audit?.reason, /by cli; 1 grants ended/, 'the disable is audited with the CLI and the grant it ended');
});

t.test('a secret client: the secret is printed once; refusals have their exit codes', async (t) => {
  const { url, service } = await sharedDatabase(t);
  await (await service()).close();
  const web = JSON.stringify({ client_name: 'Partner Web', redirect_uris: ['https://partner.example.com/cb'] });
  const registered = await clients(url, 'register', web);
  t.equal(registered.code, 0, registered.stderr);
  const answer = JSON.parse(registered.stdout) as { client_id: string; client_secret: string };
  t.match(answer.client_secret, /^[A-Za-z0-9_-]{43}$/, 'register prints the secret');
  t.match(registered.stderr, /shown once/, 'and says it is shown once');
  const shown = await clients(url, 'show', answer.client_id);
  t.notMatch(shown.stdout, /"client_secret"/, 'show never prints a secret');
  t.notMatch(shown.stdout, new RegExp(answer.client_secret), 'nor the hash of one');

  const app = await service();
  const stored = await app.services.oauthClients.get(answer.client_id);
  t.equal(stored?.secretHash, hashClientSecret(answer.client_secret), 'only the secret’s hash is kept');
  await app.close();

  const badUri = await clients(url, 'register', JSON.stringify({ client_name: 'x', redirect_uris: ['http://x/cb'] }));
  t.equal(badUri.code, 2, 'a redirect URI the domain refuses exits 2');
  t.match(badUri.stderr, /^invalid_redirect_uri: /, 'with the catalog code');
  t.equal((await clients(url, 'register', '{not json')).code, 2, 'metadata that is not JSON exits 2');
  t.equal((await clients(url, 'show', 'no-such-client')).code, 4, 'an unknown client exits 4');
  t.equal((await clients(url, 'frobnicate')).code, 2, 'an unknown command prints the usage and exits 2');
});
