// WORKERS: several processes on one port (node:cluster). Limits stay shared (Redis), key rotations reach
// every worker, SIGTERM drains them all; configurations that would silently diverge are boot errors.
import t from 'tap';
import { request as httpRequest } from 'node:http';
import { decodeProtectedHeader } from 'jose';
import { ConfigError, loadConfig } from '../../src/config.js';
import { rotate } from '../../src/domain/keys/key-rotation.js';
import { rotationPolicy } from '../../src/domain/keys/key-policies.js';
import { spawnTessera, type TesseraProcess } from '../process.js';
import { startRedis } from '../redis-server.js';
import { privatePostgresMissing, startPrivatePostgres } from '../private-postgres.js';
import { failIfMissing, skipUnlessCi } from '../prerequisite.js';
import { PASSWORD, createTestDatabase, postgresUrl, tempDir, uniqueEmail } from '../helper.js';

t.test('WORKERS > 1 on the embedded database, or without REDIS_URL, is a boot error', async (t) => {
  t.throws(
    () => loadConfig({ WORKERS: '2', DATABASE_URL: 'pglite:./data', REDIS_URL: 'redis://127.0.0.1:6379' }),
    ConfigError,
    'WORKERS=2 on the embedded database refuses to boot',
  );
  t.throws(
    () => loadConfig({ WORKERS: '2', DATABASE_URL: 'postgres://db/tessera' }),
    ConfigError,
    'WORKERS=2 without REDIS_URL refuses to boot',
  );
  t.throws(() => loadConfig({ WORKERS: 'many' }), ConfigError, 'a WORKERS that is not a number refuses to boot');
  t.equal(
    loadConfig({ WORKERS: '3', DATABASE_URL: 'postgres://db/tessera', REDIS_URL: 'redis://127.0.0.1:6379' }).workers,
    3,
    'WORKERS=3 on PostgreSQL with Redis starts three workers',
  );
  t.equal(loadConfig({}).workers, 1, 'one worker by default');
});

/** One request on a fresh connection (so the cluster spreads them), with the pid of the worker that answered. */
function send(tessera: TesseraProcess, method: string, path: string, body?: unknown) {
  return new Promise<{ status: number; body: string; pid: unknown }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      `${tessera.url}${path}`,
      { method, agent: false, headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', async () => {
          const id = res.headers['x-request-id'];
          const line = await tessera.waitForLog((l) => l.reqId === id && l.msg === 'request');
          resolve({ status: res.statusCode ?? 0, body: text, pid: line.pid });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

t.test(
  'WORKERS=2 on PostgreSQL and Redis: both workers serve, limits are shared, rotations reach both, SIGTERM drains both',
  skipUnlessCi(postgresUrl ? undefined : privatePostgresMissing()),
  async (t) => {
    if (failIfMissing(t, postgresUrl ? undefined : privatePostgresMissing())) return;
    const pgDb = postgresUrl ? await createTestDatabase() : undefined;
    if (pgDb) t.teardown(() => pgDb.close());
    const databaseUrl = pgDb ? pgDb.url : (await startPrivatePostgres(t)).url;
    const redis = await startRedis(t);
    const keysDir = await tempDir(t);
    const env = {
      WORKERS: '2',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      KEYS_DIR: keysDir,
      KEYS_RELOAD_SECONDS: '1',
      RATE_LIMIT_PER_MINUTE: '8',
    };
    const tessera = await spawnTessera(t, env);
    const ready = (l: Record<string, unknown>) => typeof l.msg === 'string' && l.msg.startsWith('tessera ready at ');
    await tessera.waitForLog(() => tessera.logs.filter(ready).length === 2);
    const workerPids = new Set(tessera.logs.filter(ready).map((l) => l.pid));
    t.equal(workerPids.size, 2, 'two workers booted');

    const email = uniqueEmail();
    t.equal(
      (await send(tessera, 'POST', '/auth/register', { email, password: PASSWORD })).status,
      201,
      'registering through the cluster works',
    );

    // Rotation: the next key signs now; every worker re-reads KEYS_DIR and switches.
    const { kid: before } = decodeProtectedHeader(
      JSON.parse((await send(tessera, 'POST', '/auth/login', { email, password: PASSWORD })).body).access_token,
    );
    const result = await rotate(keysDir, new Date(), rotationPolicy(loadConfig(env)), { immediate: true });
    await tessera.waitForLog(
      () => new Set(tessera.logs.filter((l) => l.event === 'key_activated').map((l) => l.pid)).size === 2,
    );
    const activated = tessera.logs.filter((l) => l.event === 'key_activated');
    t.not(activated[0]!.kid, before, 'the rotation activated a key other than the one that signed before');
    t.ok(
      activated.every((l) => l.kid === activated[0]!.kid),
      `both workers switched to the same key (${JSON.stringify(result)})`,
    );
    // One after another: two logins to one account from one address at once get one answer and one 429 (one guess at a time).
    const logins = [];
    for (let i = 0; i < 3; i++) logins.push(await send(tessera, 'POST', '/auth/login', { email, password: PASSWORD }));
    t.ok(
      logins.every(
        (r) => r.status === 200 && decodeProtectedHeader(JSON.parse(r.body).access_token).kid === activated[0]!.kid,
      ),
      'tokens are signed with the new key',
    );

    // Rate limit 8/min per address for register, shared across workers: 1 used above, 7 more pass.
    const registers = await Promise.all(
      Array.from({ length: 12 }, () =>
        send(tessera, 'POST', '/auth/register', { email: uniqueEmail(), password: PASSWORD }),
      ),
    );
    t.equal(registers.filter((r) => r.status === 201).length, 7, 'the limit holds across workers');
    t.equal(registers.filter((r) => r.status === 429).length, 5, 'the other five registrations are refused with 429');
    const served = new Set([...registers, ...logins].map((r) => r.pid));
    t.equal(served.size, 2, 'requests were served by both workers');

    tessera.child.kill('SIGTERM');
    const { code } = await tessera.exited;
    t.equal(code, 0, 'SIGTERM drained both workers and the primary exited 0');
    for (const pid of workerPids) t.throws(() => process.kill(Number(pid), 0), 'no worker left behind');
  },
);
