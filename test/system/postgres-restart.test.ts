// Issue 14.1: a PostgreSQL restart and a stop under load give 503 with Retry-After, never a 500, and the
// service comes back by itself. A private PostgreSQL (stopped and restarted here), Tessera as a real process.
import t from 'tap';
import { privatePostgresMissing, startPrivatePostgres } from '../private-postgres.js';
import { spawnTessera } from '../process.js';
import { failIfMissing, skipUnlessCi } from '../prerequisite.js';
import { PASSWORD, tempDir, uniqueEmail } from '../helper.js';

const missing = privatePostgresMissing();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test(
  'PostgreSQL restarted and stopped under load: only 503s with Retry-After, never a 500, then recovery',
  skipUnlessCi(missing),
  async (t) => {
    if (failIfMissing(t, missing)) return;
    const pg = await startPrivatePostgres(t);
    const tessera = await spawnTessera(t, {
      DATABASE_URL: pg.url,
      KEYS_DIR: await tempDir(t),
      REFRESH_REUSE_GRACE_SECONDS: '10',
    });
    const url = tessera.url;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const email = uniqueEmail();
    t.equal(
      (await post('/auth/register', { email, password: PASSWORD })).status,
      201,
      'registering works before PostgreSQL is restarted',
    );
    const first = await post('/auth/login', { email, password: PASSWORD });
    const accessToken = ((await first.json()) as { access_token: string }).access_token;

    const statuses = new Map<number, number>();
    const missingRetryAfter: string[] = [];
    let running = true;
    const worker = async (kind: number) => {
      // Each refresher has its own session: two chains on one token would be reuse, a 401 that hides nothing.
      // Logins to one account from one address are checked one at a time (429 meanwhile): retry until this one is.
      let own = first;
      if (kind === 2) {
        own = await post('/auth/login', { email, password: PASSWORD });
        while (own.status === 429) {
          await sleep(50);
          own = await post('/auth/login', { email, password: PASSWORD });
        }
      }
      let cookie = own.headers.get('set-cookie')?.split(';')[0] ?? '';
      while (running) {
        let res: Response;
        try {
          if (kind === 0) res = await post('/auth/login', { email, password: PASSWORD });
          else if (kind === 1)
            res = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
          else res = await fetch(`${url}/auth/refresh`, { method: 'POST', headers: { cookie } });
        } catch {
          continue; // a connection error is not an answer; Tessera itself stays up
        }
        if (kind === 2 && res.status === 200) cookie = res.headers.get('set-cookie')?.split(';')[0] ?? cookie;
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 503 && !res.headers.get('retry-after')) missingRetryAfter.push(`${kind}`);
        await sleep(10);
      }
    };
    const load = Promise.all([0, 1, 1, 2, 2, 1].map(worker));

    await sleep(1000);
    pg.pgCtl('restart', '-m', 'fast');
    await sleep(1000);
    pg.pgCtl('stop', '-m', 'fast');
    // Readiness probed through the outage: 503 each time, and no probe leaves a timer behind that ends the process.
    const probes: number[] = [];
    for (let i = 0; i < 10; i++) {
      probes.push((await fetch(`${url}/health/ready`)).status);
      await sleep(300);
    }
    t.same(new Set(probes), new Set([503]), 'readiness says not ready at every probe while PostgreSQL is down');
    t.equal(tessera.child.exitCode, null, 'and the process probed through the outage is still running');
    pg.pgCtl('start');
    let ready = false;
    for (let i = 0; i < 60 && !ready; i++) {
      ready = (await fetch(`${url}/health/ready`)).status === 200;
      if (!ready) await sleep(250);
    }
    await sleep(500);
    running = false;
    await load;

    t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    t.ok(ready, 'readiness came back once PostgreSQL did');
    t.equal(statuses.get(500) ?? 0, 0, 'no 500');
    t.same(
      [...statuses.keys()].filter((s) => s >= 500 && s !== 503),
      [],
      'no 5xx other than 503',
    );
    t.ok((statuses.get(503) ?? 0) > 0, 'the outage was seen, as 503');
    // A 401 here is a refresh whose COMMIT reached the server while its connection died (an ambiguous commit,
    // answered 503) and whose retry came after the grace window: issue 14.4, see docs/operations.md.
    t.comment(`401s (retries after an ambiguous commit): ${statuses.get(401) ?? 0}`);
    t.same(missingRetryAfter, [], 'every 503 carries Retry-After');
    t.equal(
      (await post('/auth/login', { email, password: PASSWORD })).status,
      200,
      'logins work again, without a restart',
    );
    t.notOk(
      tessera.logs.some((l) => l.code === 'internal_error'),
      'no internal_error in the log',
    );
  },
);
