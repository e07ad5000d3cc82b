// Slow clients are cut off: a body trickled byte by byte, headers and then silence, an idle kept-alive
// connection. Real listening server, raw sockets; short timeouts configured, generous bounds asserted.
import http from 'node:http';
import type net from 'node:net';
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { buildTestApp } from '../helper.js';
import { listen, rawExchange, within } from '../net-helper.js';

// The idle timeout well above the others: a silent client then gets its 408 from the header deadline
// rather than a bare close from the idle one, even on a loaded machine.
const SHORT = {
  REQUEST_TIMEOUT_MS: '1000',
  HEADERS_TIMEOUT_MS: '1000',
  CONNECTION_TIMEOUT_MS: '5000',
  KEEP_ALIVE_TIMEOUT_MS: '1000',
};
/** Far above the configured 1 s (plus Node's 1 s check): a bound, not a measurement. */
const BOUND_MS = 20_000;

/** Writes `head`, then one byte of `trickle` every 100 ms until the server closes the connection. */
function trickler(head: string, trickle: string) {
  return (socket: net.Socket) => {
    socket.write(head);
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || !socket.writable) return clearInterval(timer);
      socket.write(trickle[i++ % trickle.length]!);
    }, 100);
    socket.on('close', () => clearInterval(timer));
  };
}

const slowBody = trickler(
  'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n',
  '{"email":"a@example.com","password":"',
);
const slowHeaders = trickler('GET /health/live HTTP/1.1\r\nHost: x\r\n', 'X-Slow: a\r\n');

t.test('a body trickled byte by byte is cut off with 408 request_timeout', async (t) => {
  const { app } = await buildTestApp(t, { env: SHORT });
  const port = await listen(app);
  const res = await within(t, BOUND_MS, rawExchange(port, slowBody), 'slow body');
  t.equal(res.status, 408, 'the trickled body is cut off with 408');
  t.equal(JSON.parse(res.body).code, 'request_timeout', 'the 408 says request_timeout');
  t.equal(res.headers['x-content-type-options'], 'nosniff', 'the 408 carries the usual nosniff header');
});

t.test('headers trickled, or sent in part and then silence, are cut off with 408 request_timeout', async (t) => {
  const { app } = await buildTestApp(t, { env: SHORT });
  const port = await listen(app);
  for (const [what, send] of [
    ['trickled headers', slowHeaders],
    ['headers then silence', 'GET /health/live HTTP/1.1\r\nHost: x\r\n'],
  ] as const) {
    const res = await within(t, BOUND_MS, rawExchange(port, send), what);
    t.equal(res.status, 408, what);
    t.equal(JSON.parse(res.body).code, 'request_timeout', what);
  }
});

t.test('a connection that never sends a byte, and an idle kept-alive one, are closed', async (t) => {
  const { app } = await buildTestApp(t, { env: SHORT });
  const port = await listen(app);
  const silent = await within(t, BOUND_MS, rawExchange(port, ''), 'silent connection');
  t.ok(silent.status === 0 || silent.status === 408, 'closed, or answered 408');
  const kept = await within(
    t,
    BOUND_MS,
    rawExchange(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'),
    'kept-alive connection',
  );
  t.equal(kept.status, 200, 'answered, then closed when idle');
  t.match(kept.headers['keep-alive'], /timeout=1\b/, 'the keep-alive header announces the configured idle timeout');
});

t.test('50 slow clients at once do not stop a normal request from being served, and are all cut off', async (t) => {
  const { app } = await buildTestApp(t, { env: SHORT });
  const port = await listen(app);
  const slow = Array.from({ length: 50 }, (_, i) => rawExchange(port, i % 2 ? slowBody : slowHeaders));
  await new Promise((r) => setTimeout(r, 300));
  const normal = await new Promise<number>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/health/live', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      })
      .on('error', reject);
  });
  t.equal(normal, 200, 'served while 50 slow clients hold connections');
  const answers = await within(t, BOUND_MS, Promise.all(slow), '50 slow clients');
  t.same([...new Set(answers.map((a) => a.status))], [408], 'every slow client got 408');
});

t.test('timeouts are configurable, with finite defaults, and validated at boot', async (t) => {
  t.same(
    loadConfig({}).timeouts,
    { requestMs: 10000, headersMs: 10000, connectionMs: 30000, keepAliveMs: 72000 },
    'every timeout has a finite default',
  );
  t.same(
    loadConfig(SHORT).timeouts,
    { requestMs: 1000, headersMs: 1000, connectionMs: 5000, keepAliveMs: 1000 },
    'each timeout takes its value from its variable',
  );
  const bad: [Record<string, string>, RegExp][] = [
    [{ REQUEST_TIMEOUT_MS: '0' }, /REQUEST_TIMEOUT_MS/],
    [{ REQUEST_TIMEOUT_MS: 'soon' }, /REQUEST_TIMEOUT_MS/],
    [{ HEADERS_TIMEOUT_MS: '999' }, /HEADERS_TIMEOUT_MS/],
    [{ CONNECTION_TIMEOUT_MS: '600001' }, /CONNECTION_TIMEOUT_MS/],
    [{ KEEP_ALIVE_TIMEOUT_MS: '-1' }, /KEEP_ALIVE_TIMEOUT_MS/],
    [{ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '6000' }, /HEADERS_TIMEOUT_MS/],
  ];
  for (const [env, name] of bad)
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: name }, JSON.stringify(env));
});
