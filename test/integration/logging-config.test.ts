// Logs are structured and never hold a secret; configuration is validated at boot.
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { PASSWORD, buildTestApp, me, refresh, session, REFRESH_COOKIE } from '../helper.js';

t.test('logs: one line per request, auth events with ids, no secrets', async (t) => {
  const { app, logs, rawLogs } = await buildTestApp(t, { captureLogs: true });
  const s = await session(app);
  await me(app, s.accessToken);
  const r = await refresh(app, s.refresh);
  await app.inject({ method: 'POST', url: '/auth/login', payload: { email: s.email, password: 'wrong password!' } });
  await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [REFRESH_COOKIE]: String(r.cookies[0]?.value) } });

  const requestLines = logs.filter((l) => l.msg === 'request');
  t.equal(requestLines.length, 6, 'register, login, me, refresh, failed login, logout: one line each');
  for (const l of requestLines) {
    t.type(l.reqId, 'string', `${l.method} ${l.path}: the request line carries its request id`);
    t.type(l.statusCode, 'number', `${l.method} ${l.path}: the request line carries its status code`);
    t.type(l.ms, 'number', `${l.method} ${l.path}: the request line carries its duration in ms`);
  }
  t.same(
    requestLines.map((l) => l.outcome ?? null),
    [null, 'ok', null, 'ok', 'failed', null],
    'the login and refresh request lines say what they came to (ok, failed); the others say nothing',
  );
  const events = logs.filter((l) => typeof l.event === 'string' && l.event !== 'keys_changed').map((l) => l.event);
  t.same(
    events,
    ['register', 'login_ok', 'refresh', 'login_failed', 'logout'],
    'each auth event is logged once, in the order it happened',
  );
  const loginOk = logs.find((l) => l.event === 'login_ok')!;
  t.equal(loginOk.userId, s.user.id, 'the login_ok event names the user');
  t.type(loginOk.sessionId, 'string', 'the login_ok event names the session');

  const all = rawLogs.join('\n');
  const secrets = [
    PASSWORD,
    'wrong password!',
    s.refresh,
    s.accessToken,
    s.accessToken.split('.')[2]!,
    String(r.cookies[0]?.value),
  ];
  for (const secret of secrets) t.notOk(all.includes(secret), `no secret in logs (${secret.slice(0, 6)}…)`);
});

t.test('logs: request errors are logged without the request body', async (t) => {
  const { app, rawLogs } = await buildTestApp(t, { captureLogs: true });
  await app.inject({
    method: 'POST',
    url: '/auth/register',
    headers: { 'content-type': 'application/json' },
    payload: '{"password": "hunter22-secret", ',
  });
  // Unquoted: JSON.parse quotes the text around the error in its message.
  await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'content-type': 'application/json' },
    payload: '{"email":"a@b.co","password":hunter22secret}',
  });
  t.ok(
    rawLogs.some((l) => l.includes('malformed_json')),
    'the refusal is logged',
  );
  t.notOk(rawLogs.join('\n').includes('hunter22'), "no part of a malformed body's password reaches the logs");
});

t.test('config', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 3000, 'the default port is 3000');
  t.equal(c.host, '127.0.0.1', 'by default Tessera listens on loopback only');
  t.equal(c.databaseUrl, 'pglite:./data', 'the default database is a local PGlite directory');
  t.equal(c.issuer, 'http://localhost:3000', 'the default issuer is the local origin');
  t.same(c.audience, ['tessera'], 'the default audience is tessera');
  t.equal(c.accessTokenTtl, 900, 'access tokens live 15 minutes by default');
  t.equal(c.refreshTokenTtl, 604800, 'refresh tokens live 7 days by default');
  t.equal(c.refreshReuseGrace, 10, 'the default refresh reuse grace is 10 seconds');
  t.same(loadConfig({ AUDIENCE: ' a , b ' }).audience, ['a', 'b'], 'AUDIENCE is split on commas and trimmed');
  t.equal(loadConfig({ PORT: '' }).port, 3000, 'empty means unset');

  const bad: [Record<string, string>, RegExp][] = [
    [{ PORT: 'abc' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ ACCESS_TOKEN_TTL_SECONDS: '5' }, /ACCESS_TOKEN_TTL_SECONDS/],
    [{ REFRESH_REUSE_GRACE_SECONDS: '-1' }, /REFRESH_REUSE_GRACE_SECONDS/],
    [{ ISSUER: 'not a url' }, /ISSUER/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ NODE_ENV: 'staging' }, /NODE_ENV/],
    [{ AUDIENCE: ',' }, /AUDIENCE/],
  ];
  for (const [env, name] of bad)
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: name }, JSON.stringify(env));
  t.ok(new ConfigError('x') instanceof Error, 'a ConfigError is an Error, for callers that catch Errors');
});
