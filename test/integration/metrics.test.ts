// Prometheus metrics: GET /metrics behind METRICS_TOKEN, scraped and parsed as the text exposition format,
// after real logins and refreshes (ok, grace, reused, revoked, expired), rate-limited requests and a key reload.
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { hashesInFlight } from '../../src/domain/accounts/hash-slots.js';
import {
  ManualClock,
  PASSWORD,
  buildTestApp,
  databaseKind,
  login,
  refresh,
  register,
  session,
  type TestApp,
} from '../helper.js';

const TOKEN = 'metrics-token-0123456789abcdefghijklmnop';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (version 0.0.4); throws on a line that isn't one. NaN is read in any case, as Prometheus does. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|[Nn]a[Nn]|\+Inf|-Inf)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

async function scrape(app: TestApp) {
  const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  if (res.statusCode !== 200) throw new Error(`scrape: ${res.statusCode} ${res.body}`);
  const parsed = parseExposition(res.body);
  const value = (name: string, labels: Record<string, string> = {}) =>
    parsed.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  return { ...parsed, value, contentType: res.headers['content-type'] };
}

t.test('/metrics exists only with METRICS_TOKEN, and answers only that token', async (t) => {
  const off = await buildTestApp(t);
  t.equal(
    (await off.app.inject({ url: '/metrics' })).json().code,
    'not_found',
    'without METRICS_TOKEN there is no /metrics route',
  );

  const { app } = await buildTestApp(t, { env: { METRICS_TOKEN: TOKEN } });
  const none = await app.inject({ url: '/metrics' });
  t.equal(none.statusCode, 401, '/metrics without a token is refused with 401');
  t.equal(none.json().code, 'missing_token', 'the refusal says missing_token');
  for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN]) {
    t.equal(
      (await app.inject({ url: '/metrics', headers: { authorization } })).statusCode,
      401,
      'a near miss is refused',
    );
  }
  const ok = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(ok.statusCode, 200, 'the right token may scrape /metrics');
  t.match(
    ok.headers['content-type'],
    /^text\/plain; version=0\.0\.4/,
    'the scrape is the Prometheus text format, version 0.0.4',
  );
  t.notOk((await app.inject({ url: '/openapi.json' })).json().paths['/metrics'], 'not in the API document');
});

t.test('METRICS_TOKEN shorter than 32 characters, or with spaces, is a boot error naming it', async (t) => {
  for (const METRICS_TOKEN of ['short', `${'a'.repeat(40)} b`]) {
    t.throws(
      () => loadConfig({ METRICS_TOKEN }),
      ConfigError,
      `a METRICS_TOKEN of ${METRICS_TOKEN.length} characters fails the boot with a ConfigError`,
    );
    t.throws(
      () => loadConfig({ METRICS_TOKEN }),
      /METRICS_TOKEN/,
      `a METRICS_TOKEN of ${METRICS_TOKEN.length} characters: the error names METRICS_TOKEN`,
    );
  }
});

t.test('requests, refresh and login outcomes, key age and reloads, process metrics', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock, env: { METRICS_TOKEN: TOKEN, REFRESH_REUSE_GRACE_SECONDS: '10' } });

  const s = await session(app);
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/login', payload: { email: s.email, password: 'wrong password!' } }))
      .statusCode,
    401,
    'the login with a wrong password is refused',
  );
  const first = await refresh(app, s.refresh);
  t.equal(first.statusCode, 200, 'ok');
  t.equal((await refresh(app, s.refresh)).statusCode, 200, 'grace: the previous token again, within the window');
  clock.advance(30);
  t.equal((await refresh(app, s.refresh)).json().code, 'refresh_token_reused', 'reused: after the window');
  t.equal((await refresh(app, 'garbage')).statusCode, 401, 'invalid');
  const other = await session(app);
  await app.inject({
    method: 'POST',
    url: '/auth/logout-all',
    headers: { authorization: `Bearer ${other.accessToken}` },
  });
  t.equal((await refresh(app, other.refresh)).json().code, 'session_revoked', 'revoked');
  const late = await session(app);
  clock.advance(8 * 86400);
  t.equal((await refresh(app, late.refresh)).json().code, 'session_expired', 'expired');
  await app.reloadKeys();

  const m = await scrape(app);
  t.equal(m.value('tessera_refresh_total', { outcome: 'ok' }), 1, 'the one accepted refresh is counted as ok');
  t.equal(
    m.value('tessera_refresh_total', { outcome: 'grace' }),
    1,
    'the repeat within the grace window is counted as grace',
  );
  t.equal(
    m.value('tessera_refresh_total', { outcome: 'reused' }),
    1,
    'the repeat after the window is counted as reused',
  );
  t.equal(
    m.value('tessera_refresh_total', { outcome: 'revoked' }),
    1,
    'the refresh after logout-all is counted as revoked',
  );
  t.equal(
    m.value('tessera_refresh_total', { outcome: 'expired' }),
    1,
    'the refresh of an expired session is counted as expired',
  );
  t.equal(
    m.value('tessera_refresh_total', { outcome: 'invalid' }),
    1,
    'the garbage refresh token is counted as invalid',
  );
  t.equal(
    m.value('tessera_login_total', { outcome: 'ok' }),
    3,
    'the three logins behind the sessions are counted as ok',
  );
  t.equal(m.value('tessera_login_total', { outcome: 'failed' }), 1, 'the wrong password is counted as a failed login');
  t.equal(
    m.value('http_requests_total', { method: 'POST', route: '/auth/refresh', status_code: '200' }),
    2,
    'the two refreshes answered 200 are counted by route and status',
  );
  t.equal(
    m.value('http_requests_total', { method: 'POST', route: '/auth/refresh', status_code: '401' }),
    4,
    'the four refreshes answered 401 are counted by route and status',
  );
  t.equal(
    m.value('http_request_duration_seconds_count', { route: '/auth/refresh' }),
    6,
    'the refresh duration histogram counts all six refreshes',
  );
  t.equal(
    m.value('http_request_duration_seconds_bucket', { route: '/auth/refresh', le: '+Inf' }),
    6,
    'the +Inf bucket holds all six refreshes',
  );
  t.equal(m.types.get('http_request_duration_seconds'), 'histogram', 'request durations are exposed as a histogram');
  t.equal(m.value('tessera_key_reloads_total', { outcome: 'ok' }), 1, 'the key reload is counted as ok');
  t.ok(m.value('tessera_signing_key_age_seconds') >= 8 * 86400, 'key age follows the clock');
  for (const name of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_seconds',
  ]) {
    t.ok(
      m.samples.some((x) => x.name === name),
      `Node process metric ${name}`,
    );
  }
  t.equal(
    m.samples.some((x) => x.name === 'tessera_db_pool_connections'),
    databaseKind === 'postgres',
    'pool gauges on PostgreSQL only',
  );
  t.notOk(
    m.samples.some((x) => x.labels.route?.includes(s.user.id)),
    'routes are patterns, not raw URLs',
  );
});

t.test('50 refreshes at the same instant are counted exactly, and 429s are counted', async (t) => {
  const { app } = await buildTestApp(t, { env: { METRICS_TOKEN: TOKEN } });
  const sessions = await Promise.all(Array.from({ length: 50 }, () => register(app).then((r) => login(app, r.email))));
  const replies = await Promise.all(sessions.map((s) => refresh(app, s.refresh)));
  t.same([...new Set(replies.map((r) => r.statusCode))], [200], 'all 50 simultaneous refreshes are accepted');
  const m = await scrape(app);
  t.equal(
    m.value('tessera_refresh_total', { outcome: 'ok' }),
    50,
    'all 50 simultaneous refreshes are counted as ok, none lost',
  );
  t.equal(
    m.value('http_requests_total', { route: '/auth/refresh', status_code: '200' }),
    50,
    'all 50 are counted as refresh requests answered 200',
  );

  const limited = await buildTestApp(t, { env: { METRICS_TOKEN: TOKEN, RATE_LIMIT_PER_MINUTE: '5' } });
  const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(limited.app, 'garbage')));
  const refused = answers.filter((r) => r.statusCode === 429).length;
  t.ok(refused >= 40, `${refused} of 50 refused`);
  const l = await scrape(limited.app);
  t.equal(
    l.value('tessera_rate_limited_total', { route: '/auth/refresh' }),
    refused,
    'every 429 is counted as rate-limited on /auth/refresh',
  );
  t.equal(
    l.value('tessera_refresh_total', { outcome: 'rate_limited' }),
    refused,
    'every 429 is counted as a rate_limited refresh outcome',
  );
});

t.test(
  '50 logins at the same instant run at most one argon2id hash per core, queue the rest, and all answer',
  async (t) => {
    // At the production cost (19 MiB, 2 passes: tens of milliseconds a hash), so a burst really overlaps.
    const { app } = await buildTestApp(t, { env: { METRICS_TOKEN: TOKEN }, productionArgon2: true });
    const { slots } = hashesInFlight();
    const users = await Promise.all(Array.from({ length: Math.max(49, slots * 3 + 2) }, () => register(app)));
    const unknown = () =>
      app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'nobody@example.com', password: PASSWORD } });
    let burstOver = false;
    const burst = Promise.all([Promise.all(users.map((u) => login(app, u.email))), unknown()]).finally(
      () => (burstOver = true),
    );
    let maxRunning = 0;
    let maxWaiting = 0;
    let scrapes = 0;
    while (!burstOver) {
      const m = await scrape(app);
      maxRunning = Math.max(maxRunning, m.value('tessera_password_hashes', { state: 'running' }));
      maxWaiting = Math.max(maxWaiting, m.value('tessera_password_hashes', { state: 'waiting' }));
      scrapes++;
      // An injected request can complete in microtasks alone: give the hashes' thread-pool callbacks their turn.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const [sessions, refused] = await burst;
    t.equal(
      sessions.filter((s) => s.accessToken.split('.').length === 3).length,
      users.length,
      'every login succeeded',
    );
    t.equal(refused.json().code, 'invalid_credentials', 'the unknown user, queued with them, is refused as usual');
    t.ok(scrapes > 1, `scraped during the burst (${scrapes} times)`);
    t.equal(maxRunning, slots, `at most ${slots} hashes ran at once (one per core here), and that many did`);
    t.ok(maxWaiting > 0, `the others waited for a slot (up to ${maxWaiting})`);
    const after = await scrape(app);
    t.equal(after.value('tessera_password_hashes', { state: 'running' }), 0, 'none running once the burst is over');
    t.equal(after.value('tessera_password_hashes', { state: 'waiting' }), 0, 'none waiting once the burst is over');
  },
);
