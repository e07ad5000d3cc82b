// A hung (not down) PostgreSQL: connections stay open and nothing answers. Requests must not wait without
// bound: each fails fast with 503 and Retry-After (DATABASE_CONNECT_TIMEOUT_MS, DATABASE_STATEMENT_TIMEOUT_MS),
// readiness says not ready, and once the database answers again the same process serves again.
import t from 'tap';
import { privatePostgresMissing, startPrivatePostgres } from '../private-postgres.js';
import { startFreezableProxy } from '../freezable-proxy.js';
import { spawnTessera } from '../process.js';
import { failIfMissing, skipUnlessCi } from '../prerequisite.js';
import { PASSWORD, createTestDatabase, postgresUrl, tempDir, uniqueEmail } from '../helper.js';

const missing = postgresUrl ? undefined : privatePostgresMissing();

t.test(
  'PostgreSQL hangs under load: every request answers 503 with Retry-After within the bounds, then the process serves again',
  skipUnlessCi(missing),
  async (t) => {
    if (failIfMissing(t, missing)) return;
    const pgDb = postgresUrl ? await createTestDatabase() : undefined;
    if (pgDb) t.teardown(() => pgDb.close());
    const database = new URL(pgDb ? pgDb.url : (await startPrivatePostgres(t)).url);
    const proxy = await startFreezableProxy(t, { host: database.hostname, port: Number(database.port) });
    database.host = `127.0.0.1:${proxy.port}`;
    const tessera = await spawnTessera(t, {
      DATABASE_URL: database.href,
      KEYS_DIR: await tempDir(t),
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
    });
    const post = (path: string, body: unknown) =>
      fetch(`${tessera.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000), // an unbounded wait fails the test instead of stalling it
      });
    const email = uniqueEmail();
    t.equal((await post('/auth/register', { email, password: PASSWORD })).status, 201, 'registering works first');

    proxy.freeze();
    // 30 at once: more than the pool's 10 connections, so some wait for a connection and some for a statement.
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        try {
          const res =
            i % 2 === 0
              ? await post('/auth/login', { email, password: PASSWORD })
              : await post('/auth/register', { email: uniqueEmail(), password: PASSWORD });
          const body = (await res.json()) as { code?: string };
          return { status: res.status, code: body.code, retryAfter: res.headers.get('retry-after') };
        } catch (err) {
          return { status: 0, code: (err as Error).name, retryAfter: null };
        }
      }),
    );
    const elapsed = Date.now() - started;
    t.same(
      [...new Set(answers.map((a) => `${a.status} ${a.code}`))],
      ['503 service_unavailable'],
      'every request to a hung database answers 503 service_unavailable, none hangs',
    );
    t.ok(
      answers.every((a) => Number(a.retryAfter) > 0),
      'every 503 carries Retry-After',
    );
    t.ok(elapsed < 20_000, `and they answer within the bounds, not after the client gives up (${elapsed} ms)`);
    const ready = await fetch(`${tessera.url}/health/ready`, { signal: AbortSignal.timeout(30_000) });
    t.equal(ready.status, 503, 'readiness says not ready while the database hangs');

    proxy.thaw();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      const res = await post('/auth/login', { email, password: PASSWORD });
      status = res.status;
      await res.arrayBuffer();
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    t.equal(status, 200, 'once the database answers again, logins work in the same process');
    t.equal((await fetch(`${tessera.url}/health/ready`)).status, 200, 'and readiness is back');
    t.notOk(
      tessera.logs.some((l) => l.code === 'internal_error'),
      'no internal_error in the log',
    );
  },
);
