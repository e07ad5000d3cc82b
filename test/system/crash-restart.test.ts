// Issue 14.4: a refresh whose answer is lost in a crash (committed, never delivered). The client retries
// the same token against the restarted instance; within REFRESH_REUSE_GRACE_SECONDS of the first attempt
// that retry succeeds instead of ending the session as reuse. The test measures the restart (SIGKILL to
// listening) and reports it; docs/operations.md states the bound this gives the default grace window.
import t from 'tap';
import { spawnTessera } from '../process.js';
import { PASSWORD, createTestDatabase, postgresUrl, tempDir, uniqueEmail } from '../helper.js';

t.test(
  'a refresh lost to a crash is retried successfully against the restarted instance within the grace window',
  async (t) => {
    const pgDb = postgresUrl ? await createTestDatabase() : undefined;
    if (pgDb) t.teardown(() => pgDb.close());
    const dataDir = await tempDir(t, 'tessera-data-');
    // The largest grace the configuration allows, so a slow machine measures the restart instead of failing.
    const env = {
      DATABASE_URL: pgDb ? pgDb.url : `pglite:${dataDir}`,
      KEYS_DIR: await tempDir(t),
      REFRESH_REUSE_GRACE_SECONDS: '300',
    };
    const first = await spawnTessera(t, env);
    const post = (url: string, path: string, body?: unknown, cookie?: string) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const email = uniqueEmail();
    t.equal(
      (await post(first.url, '/auth/register', { email, password: PASSWORD })).status,
      201,
      'registering on the first instance works',
    );
    const login = await post(first.url, '/auth/login', { email, password: PASSWORD });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;

    // The refresh commits; its answer never reaches the client, because the process dies right then.
    t.equal(
      (await post(first.url, '/auth/refresh', undefined, cookie)).status,
      200,
      'the refresh commits on the first instance before it is killed',
    );
    const lostAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnTessera(t, env);
    const restartMs = Date.now() - lostAt;
    t.comment(`restart (SIGKILL to listening again): ${restartMs} ms`);
    const retry = await post(second.url, '/auth/refresh', undefined, cookie);
    t.equal(retry.status, 200, 'the retried refresh is answered with fresh tokens, not refresh_token_reused');
    t.ok(retry.headers.get('set-cookie'), 'and a new refresh cookie');
    second.child.kill('SIGTERM');
    t.equal((await second.exited).code, 0, 'the restarted instance shuts down cleanly on SIGTERM');
  },
);
