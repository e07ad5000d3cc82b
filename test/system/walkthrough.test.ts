// The SPA guide's curl walkthrough is docs/walkthrough.sh: docs/spa.md shows its body verbatim, and here it runs
// top to bottom (bash, curl, node) against one Tessera process, twice: as the Quick start leaves it (no SECRET),
// then again on the same data with the service client the guide sets up.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, postgresUrl, tempDir } from '../helper.js';
import { spawnTessera } from '../process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENV: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
delete ENV.NODE_V8_COVERAGE;

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env, timeout: 180_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

t.test("the SPA guide's curl block is docs/walkthrough.sh, verbatim", async (t) => {
  const script = await readFile(path.join(ROOT, 'docs/walkthrough.sh'), 'utf8');
  const body = script.slice(
    script.indexOf('# --- walkthrough ---\n') + '# --- walkthrough ---\n'.length,
    script.indexOf('# --- end ---'),
  );
  t.ok(body.length > 500, 'the walkthrough script has a body to compare');
  t.ok(
    (await readFile(path.join(ROOT, 'docs/spa.md'), 'utf8')).includes(`${'```'}sh\n${body}${'```'}\n`),
    'docs/spa.md shows it between ```sh and ```',
  );
});

t.test('the walkthrough runs against one server twice: without a service client, then with one', async (t) => {
  // As docs/spa.md says: a service client from `npm run clients -- new orders`, given to Tessera at start; the
  // first run is the Quick start's (no SECRET: those steps are skipped), the second re-runs it on the same data.
  const made = await run(process.execPath, ['--import', 'tsx', 'scripts/clients.ts', 'new', 'orders'], ENV);
  t.equal(made.code, 0, `npm run clients -- new orders exits 0\n${made.stderr}`);
  const secret = /^client_secret: (\S+)/m.exec(made.stdout)![1]!;
  const entry = /^entry: +(\S+)/m.exec(made.stdout)![1]!;

  const db = postgresUrl ? await createTestDatabase() : undefined;
  if (db) t.teardown(() => db.close());
  const tessera = await spawnTessera(t, {
    SERVICE_CLIENTS: entry,
    KEYS_DIR: await tempDir(t, 'tessera-walk-keys-'),
    DATABASE_URL: db ? db.url : 'pglite:memory',
    RATE_LIMIT_PER_MINUTE: '20',
  });

  const withClient = new Set(['introspect', 'introspect after logout-all', 'revoke']);
  const steps: [string, RegExp][] = [
    ['register', /^\{"user":\{"id":"[0-9a-f-]{36}","email":"ada-\d+-\d+@example.com"/],
    ['me', /^\{"id":"[0-9a-f-]{36}","email":"ada-\d+-\d+@example.com"/],
    ['refresh', /^\{"access_token":"/],
    ['sessions', /^\{"sessions":\[\{.*\},\{.*\}\]\}$/],
    ['delete the other session', /^204$/],
    ["the other session's token", /"code":"invalid_token"/],
    ['introspect', /^\{"active":true,/],
    ['password', /^204$/],
    ['replayed spent token', /"code":"refresh_token_reused"/],
    ['newest token of that session', /"code":"session_revoked"/],
    ['logout', /^204$/],
    ['logout-all', /^204$/],
    ['introspect after logout-all', /^\{"active":false\}$/],
    ['revoke', /^\{\}$/],
    ['jwks', /^\{"keys":\[/],
    ['discovery', /"issuer":/],
    ['ready', /^\{"status":"ok"\}$/],
  ];
  for (const [what, env] of [
    ['without SECRET', {}],
    ['again, with SECRET', { SECRET: secret }],
  ] as const) {
    const walk = await run('bash', ['docs/walkthrough.sh'], { ...ENV, B: tessera.url, ...env });
    t.equal(walk.code, 0, `${what}: the script exits 0\n${walk.stderr}`);
    t.equal(walk.stderr, '', `${what}: and prints nothing on stderr`);
    const lines = walk.stdout.trim().split('\n');
    const expected = 'SECRET' in env ? steps : steps.filter(([step]) => !withClient.has(step));
    if (lines.length !== expected.length) t.comment(walk.stdout);
    t.equal(lines.length, expected.length, `${what}: one line per step`);
    for (const [i, [step, pattern]] of expected.entries()) t.match(lines[i], pattern, `${what}: ${step}`);
    t.notOk(
      lines.some((l) => l.includes('internal_error')),
      `${what}: no step of the walkthrough hit an internal_error`,
    );
  }
});
