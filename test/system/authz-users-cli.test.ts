// `npm run users -- grant|revoke|list`: roles without an admin, straight on DATABASE_URL. PostgreSQL while
// the service runs; the embedded database while it doesn't, and a clear refusal while it does.
import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { buildApp } from '../../src/app.js';
import { openDatabase } from '../../src/db/open.js';
import {
  ManualClock,
  createTestDatabase,
  login,
  postgresUrl,
  refresh,
  register,
  tempDir,
  testConfig,
} from '../helper.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function users(databaseUrl: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/users.ts', ...args],
      {
        cwd: ROOT,
        timeout: 60_000,
        env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' },
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

t.test(
  'the embedded database: the CLI grants a role while the service is stopped, and refuses while it runs',
  async (t) => {
    const dir = await tempDir(t);
    const url = `pglite:${path.join(dir, 'data')}`;
    const config = testConfig({ DATABASE_URL: url, KEYS_DIR: path.join(dir, 'keys') });
    let app = await buildApp({ config, clock: new ManualClock(new Date()) });
    const { email } = await register(app);
    const running = await users(url, 'grant', email, 'admin');
    t.equal(running.code, 3, 'refused while the service holds the database');
    t.match(running.out, /in use by process/, 'the refusal says the database is in use by the running service');
    await app.close();

    const granted = await users(url, 'grant', email, 'admin');
    t.equal(granted.code, 0, granted.out);
    t.match(granted.out, /granted admin/, 'the CLI reports the grant');
    const listed = await users(url, 'list');
    t.match(
      listed.out,
      new RegExp(`${email.replace('.', '\\.')}\\t[0-9a-f-]{36}\\tadmin`),
      "the CLI lists the user's email, id and role",
    );
    t.equal((await users(url, 'grant', email, 'Not A Role')).code, 2, 'invalid role');
    t.equal((await users(url, 'grant', 'nobody@example.com', 'admin')).code, 4, 'unknown user');
    t.equal((await users(url, 'frobnicate')).code, 2, 'usage');

    app = await buildApp({ config, clock: new ManualClock(new Date()) });
    t.teardown(() => app.close());
    const s = await login(app, email);
    t.same(
      decodeJwt(s.accessToken).roles,
      ['admin'],
      "the next login's access token carries the role granted by the CLI",
    );
    const audit = await app.services.database.prisma.auditEvent.findFirst({ where: { type: 'role_granted' } });
    t.equal(audit?.reason, 'admin by cli', 'the CLI grant is audited as made by the CLI');
  },
);

t.test(
  'PostgreSQL (or a second connection): the CLI changes roles while the service runs; the next refresh shows it',
  async (t) => {
    const db = await createTestDatabase();
    t.teardown(() => db.close());
    const dir = await tempDir(t);
    const app = await buildApp({
      config: testConfig({ KEYS_DIR: dir }),
      clock: new ManualClock(new Date()),
      database: db.database,
    });
    t.teardown(() => app.close());
    const { email, user } = await register(app);
    const s = await login(app, email);
    if (postgresUrl) {
      t.equal(
        (await users(db.url, 'grant', email, 'support')).code,
        0,
        'the CLI grants the role on PostgreSQL while the service runs',
      );
    } else {
      // PGlite in memory can't be reached by another process: run the same domain code on a second connection.
      const other = await openDatabase('pglite:memory', { pglite: db.pglite!, migrate: false });
      const { Roles } = await import('../../src/domain/authz/roles.js');
      await new Roles(other.prisma, new ManualClock()).grant(
        user.id,
        'support',
        { kind: 'cli' },
        { ip: 'local', requestId: 'cli' },
      );
    }
    const after = await refresh(app, s.refresh);
    t.same(
      decodeJwt(after.json().access_token).roles,
      ['support'],
      'the next refresh carries the role granted meanwhile',
    );
  },
);
