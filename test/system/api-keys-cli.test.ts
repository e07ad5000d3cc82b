// `npm run api-keys` as an operator runs it: a real `npm run` child process on a real database, with the
// service's KEYS_DIR (the pepper). It creates, lists, rolls and revokes keys; what it prints (the key alone on
// stdout, once) and its exit codes (0, 2 usage or refused input, 3 embedded database held by the service,
// 4 no such user or key) are what scripts rely on. The keys it makes are then used at /oauth/token: the CLI's
// changes are the service's. On PostgreSQL (TEST_DATABASE_URL) the service keeps running while the CLI works
// and sees each change at its next request; on the embedded database (a pglite:<dir> file) the CLI refuses
// while the service holds it, and works once it is stopped.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { API_KEY_PATTERN } from '../../src/domain/api-keys/api-key-format.js';
import { ManualClock, createTestDatabase, expectError, postgresUrl, register, tempDir, testConfig } from '../helper.js';
import { exchange } from '../api-key-fixtures.js';
import { meta } from '../authz-fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// About ten commands, each a new npm, tsx and database open (and, on the embedded database, its close): a few
// seconds each on an idle machine, minutes on a loaded one. The file may take longer than tap's default.
t.setTimeout(1_500_000);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run --silent api-keys -- <args>` with DATABASE_URL and KEYS_DIR, as a shell would run it. */
function apiKeys(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'silent', ...env };
  delete childEnv.NODE_V8_COVERAGE;
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'api-keys', '--', ...args],
      { cwd: ROOT, timeout: 240_000, env: childEnv },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const ID = /^[0-9A-Za-z]{12}$/;

t.test(
  `the CLI creates, lists, rolls and revokes keys on ${postgresUrl ? 'PostgreSQL while the service runs' : 'the embedded database file'}`,
  async (t) => {
    const dir = await tempDir(t);
    const keysDir = path.join(dir, 'keys');
    const db = postgresUrl ? await createTestDatabase() : undefined;
    if (db) t.teardown(() => db.close());
    const databaseUrl = db ? db.url : `pglite:${path.join(dir, 'data')}`;
    const env = { DATABASE_URL: databaseUrl, KEYS_DIR: keysDir };
    const start = () =>
      buildApp({
        config: testConfig(env),
        clock: new ManualClock(new Date()),
        ...(db ? { database: db.database } : {}),
      });
    let app = await start();
    const account = await register(app);
    await app.services.roles.grant(account.user.id, 'support', { kind: 'cli' }, meta);

    if (!db) {
      const held = await apiKeys(env, 'list');
      t.equal(held.code, 3, 'while the service holds the embedded database, the CLI refuses with exit code 3');
      t.match(held.stderr, /in use by process.*Stop the service first/s, 'and says why and what to do');
      t.equal(held.stdout, '', 'and lists nothing');
      await app.close();
    }

    const [made, usage] = await Promise.all([
      apiKeys(
        env,
        'new',
        '--user',
        account.email,
        '--name',
        'deploy script',
        '--scopes',
        'support',
        '--expires-in',
        '3600',
      ),
      apiKeys(env, 'frobnicate'),
    ]);
    t.equal(usage.code, 2, 'an unknown command is a usage error: exit code 2');
    t.match(usage.stderr, /usage: npm run api-keys/, 'with the usage on stderr');
    t.equal(usage.stdout, '', 'and nothing on stdout');
    t.equal(made.code, 0, `new exits 0 (stderr: ${made.stderr})`);
    const key = made.stdout.trim();
    t.equal(made.stdout, `${key}\n`, 'stdout is the key alone on one line, for `KEY=$(npm run …)`');
    t.match(key, API_KEY_PATTERN, 'in the published key format');
    t.match(made.stderr, /the key \(shown once\)/, 'stderr says it is shown once');
    t.notMatch(made.stderr, key, 'and does not repeat the key');
    const id = made.stderr.split('\t')[0]!;
    t.match(id, ID, 'stderr starts with the key id');
    t.ok(key.includes(`_${id}_`), "the id is the key's displayable part");

    const rolled = await apiKeys(env, 'roll', id, '--overlap', '3600');
    t.equal(rolled.code, 0, `roll exits 0 (stderr: ${rolled.stderr})`);
    const newKey = rolled.stdout.trim();
    t.match(newKey, API_KEY_PATTERN, 'roll prints the new key');
    t.not(newKey, key, 'a different one');
    t.match(rolled.stderr, new RegExp(`${id} works 3600 s more`), 'and says how long the old key keeps working');
    const newId = rolled.stderr.split('\t')[0]!;

    const revoked = await apiKeys(env, 'revoke', newId);
    t.equal(revoked.code, 0, 'revoke exits 0');
    t.match(revoked.stdout, new RegExp(`^${newId}\\t.*\\trevoked \\S+\\t`), 'and prints the key as revoked');
    const listed = await apiKeys(env, 'list', '--user', account.email);
    t.equal(listed.code, 0, 'list exits 0');
    const rows = listed.stdout.trim().split('\n');
    t.equal(rows.length, 2, 'the user has two keys: the rolled-over one and its successor');
    const live = rows.find((r) => r.startsWith(`${id}\t`));
    t.match(
      live,
      new RegExp(
        `^${id}\\tuser:${account.user.id}\\t"deploy script"\\tsupport\\texpires \\S+\\tlive\\tlast used never$`,
      ),
      'listed by id, owner, name, scopes, expiry, state and last use',
    );
    t.match(
      rows.find((r) => r.startsWith(`${newId}\t`)),
      /\trevoked \S+\t/,
      'the revoked successor is listed as revoked',
    );
    t.notMatch(listed.stdout, key, 'the list never shows a key');
    t.notMatch(listed.stdout, newKey, 'neither one');

    // Refusals, each with its exit code and a message on stderr, nothing on stdout.
    const refusals: [string, string[], number, RegExp][] = [
      ['a scope the owner lacks', ['new', '--user', account.email, '--name', 'x', '--scopes', 'admin'], 2, /scope/],
      ['an unknown user', ['new', '--user', 'nobody@example.com', '--name', 'x'], 4, /no user with email/],
      ['an unknown key id', ['revoke', 'AAAAAAAAAAAA'], 4, /not_found/],
    ];
    for (const [what, args, code, message] of refusals) {
      const r = await apiKeys(env, ...args);
      t.equal(r.code, code, `${what}: exit code ${code}`);
      t.match(r.stderr, message, `${what}: says so on stderr`);
      t.equal(r.stdout, '', `${what}: prints no key`);
    }

    // The service uses what the CLI made.
    if (!db) app = await start();
    t.teardown(() => app.close());
    const old = await exchange(app, key);
    t.equal(old.statusCode, 200, 'the rolled-over key still gets a token during its overlap');
    t.equal(old.json().scope, 'support', 'with the scope the CLI gave it');
    expectError(t, await exchange(app, newKey), 'invalid_grant', 'the key revoked by the CLI is refused');
    const gone = await apiKeys(env, 'revoke', id);
    if (db) {
      t.equal(gone.code, 0, 'on PostgreSQL the CLI revokes while the service runs');
      expectError(t, await exchange(app, key), 'invalid_grant', 'and the next use is refused');
    } else {
      t.equal(gone.code, 3, 'the running service holds the file again: refused');
    }
    const audit = await app.services.database.prisma.auditEvent.count({
      where: { type: { startsWith: 'api_key' }, userAgent: 'npm run api-keys' },
    });
    t.ok(audit >= 3, `every CLI change is audited as the CLI's (${audit} rows)`);
  },
);
