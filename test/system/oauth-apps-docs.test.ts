// The shell blocks of docs/oauth-apps.md that a reader runs against a listening service or its database, run as
// written with bash: the admin's token from a login, the two client registrations, the device-flow client and
// its first poll (one shell, as one terminal), the example device CLI signing in once its code is approved,
// the MCP walkthrough's two servers and a client's first calls, then the api-keys commands on the embedded database with the
// service stopped. Only the documented address is replaced by the test server's; then the database is asked
// what each block did.
import t from 'tap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../../src/app.js';
import { ManualClock, buildTestApp, register, tempDir, testConfig } from '../helper.js';
import { SystemClock, decide, registerDeviceClient } from '../device-fixtures.js';
import { meta, secretClient } from '../authz-fixtures.js';
import { bash, bashServer, block, DOCUMENTED } from '../doc-shell.js';
import { freePort } from '../free-port.js';

// npm and tsx start per command: minutes on a loaded machine.
t.setTimeout(900_000);

const PAGE = 'docs/oauth-apps.md';
const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

t.test('docs/oauth-apps.md: an admin registers two apps and a device client, which starts a device flow', async (t) => {
  const dir = await tempDir(t, 'tessera-oauth-docs-');
  const { app, db } = await buildTestApp(t);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const alice = await register(app, 'alice@example.com', 'correct horse battery staple');
  await app.services.roles.grant(alice.user.id, 'admin', { kind: 'cli' }, meta);
  const blocks = await Promise.all(
    [
      'ADMIN_AT=$(curl -s http://localhost:3000/auth/login',
      'CLIENT_ID=$(curl -s -X POST http://localhost:3000/admin/clients',
      'curl -s -X POST http://localhost:3000/oauth/device_authorization',
    ].map((first) => block(PAGE, first)),
  );
  const r = await bash(blocks.join('\n').replaceAll(DOCUMENTED, address), {}, dir);
  t.equal(r.code, 0, `the blocks exit 0 (stderr: ${r.stderr.slice(0, 300)})`);
  t.notMatch(r.stdout, /invalid_client_metadata|insufficient_scope/, `no registration was refused: ${r.stdout}`);
  const clients = await db.database.prisma.oAuthClient.findMany({ orderBy: { createdAt: 'asc' } });
  t.same(
    clients.map((c) => [c.name, c.authMethod]),
    [
      ['Notes for Desktop', 'none'],
      ['Partner Web', 'private_key_jwt'],
      ['Notes CLI', 'none'],
    ],
    'the native app, the partner app with its public key and the CLI are registered',
  );
  t.match(r.stdout, /"user_code":"[A-Z]{4}-[A-Z]{4}"/, 'the device authorization shows a user code');
  t.match(
    r.stdout.trim().split('\n').at(-1),
    /"error":"authorization_pending"/,
    'the poll answers authorization_pending until the user approves',
  );
});

t.test('docs/oauth-apps.md: the api-keys commands make, list, roll and revoke keys on the database', async (t) => {
  const dir = await tempDir(t);
  const orders = secretClient('orders', 'scope=orders:sync');
  const env = {
    DATABASE_URL: `pglite:${path.join(dir, 'data')}`,
    KEYS_DIR: path.join(dir, 'keys'),
    SERVICE_CLIENTS: orders.entry,
  };
  const app = await buildApp({ config: testConfig(env), clock: new ManualClock(new Date()) });
  const alice = await register(app, 'alice@example.com');
  await app.services.roles.grant(alice.user.id, 'support', { kind: 'cli' }, meta);
  // The embedded database serves one process: the commands run with the service stopped, as the page says.
  await app.close();
  const r = await bash(await block(PAGE, 'KEY=$(npm run -s api-keys -- new --client orders'), env);
  t.equal(r.code, 0, `the commands exit 0 (stderr: ${r.stderr.slice(0, 300)})`);
  t.match(
    `${r.stdout}${r.stderr}`,
    new RegExp(`user:${alice.user.id}\\s+"backup"\\s+support`),
    "`list --user` shows alice's key",
  );

  const check = await buildApp({ config: testConfig(env), clock: new ManualClock(new Date()) });
  t.teardown(() => check.close());
  const keys = await check.services.database.prisma.apiKey.findMany({ orderBy: { createdAt: 'asc' } });
  t.equal(keys.length, 3, "the client's key, alice's, and the client key's successor from the roll");
  t.equal(keys.filter((k) => k.userId === alice.user.id).length, 1, 'alice has her backup key');
  t.equal(keys.filter((k) => k.revokedAt !== null).length, 1, 'the rolled key is revoked by the last command');
});

t.test(
  'docs/oauth-apps.md: Tessera and the example MCP server start as shown and answer what a client sees',
  async (t) => {
    const [tessera, mcp] = await Promise.all([freePort(), freePort()]);
    // The documented ports, 3000 and 4100, become free ones; each server gets its port as PORT.
    const ports = (script: string) =>
      script.replaceAll('127.0.0.1:3000', `127.0.0.1:${tessera}`).replaceAll('127.0.0.1:4100', `127.0.0.1:${mcp}`);
    const keys = await tempDir(t, 'tessera-mcp-docs-keys-');
    await bashServer(
      t,
      ports(await block(PAGE, 'ISSUER=http://127.0.0.1:3000 RESOURCES=http://127.0.0.1:4100/mcp DYNAMIC_REGISTRATION')),
      { PORT: String(tessera), DATABASE_URL: 'pglite:memory', KEYS_DIR: keys },
      `http://127.0.0.1:${tessera}/health/ready`,
    );
    await bashServer(
      t,
      ports(await block(PAGE, 'TESSERA_ISSUER=http://127.0.0.1:3000 npm run example:mcp')),
      { PORT: String(mcp) },
      `http://127.0.0.1:${mcp}/.well-known/oauth-protected-resource/mcp`,
    );
    const r = await bash(ports(await block(PAGE, 'curl -si -X POST http://127.0.0.1:4100/mcp')), {});
    t.equal(r.code, 0, `the curl block exits 0 (stderr: ${r.stderr.slice(0, 300)})`);
    t.match(
      r.stdout,
      `www-authenticate: Bearer scope="notes:read", resource_metadata="http://127.0.0.1:${mcp}/.well-known/oauth-protected-resource/mcp"`,
      "the MCP server's 401 points at its protected-resource metadata",
    );
    t.match(r.stdout, `"authorization_servers":["http://127.0.0.1:${tessera}"]`, 'which names Tessera');
    t.match(
      r.stdout,
      `"registration_endpoint":"http://127.0.0.1:${tessera}/oauth/register"`,
      'Tessera names its registration endpoint',
    );
    t.match(
      r.stdout,
      /"client_id":"[^"]+","client_id_issued_at":\d+,"client_name":"My agent"/,
      'and registers the agent',
    );
  },
);

t.test('docs/oauth-apps.md: the example device CLI signs in once the user approves its code', async (t) => {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const { app } = await buildTestApp(t, { env: { ISSUER: issuer }, clock: new SystemClock() });
  await app.listen({ port, host: '127.0.0.1' });
  const { email } = await register(app);
  const { client } = await registerDeviceClient(app);
  let approved: Promise<unknown> | undefined;
  const r = await bash(
    (await block(PAGE, 'npx tsx examples/device-cli/login.ts')).replaceAll('localhost:3000', `localhost:${port}`),
    { CLIENT_ID: client.id },
    ROOT_DIR,
    (chunk) => {
      // The user reads the code the CLI shows and approves it, here through the verification pages over HTTP.
      const userCode = /"user_code":"([A-Z]{4}-[A-Z]{4})"/.exec(chunk)?.[1];
      if (userCode && !approved) approved = decide(app, email, userCode);
    },
  );
  await approved;
  t.equal(r.code, 0, `the CLI exits 0 (stderr: ${r.stderr.slice(0, 300)})`);
  t.ok(approved, 'the CLI showed a user code');
  const tokens = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, string>;
  t.ok(tokens.access_token && tokens.refresh_token && tokens.id_token, 'then printed the tokens it received');
});
