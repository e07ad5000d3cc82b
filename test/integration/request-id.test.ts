// Request ids and trace ids from callers: an acceptable x-request-id is kept (header, error body, logs), a
// malformed or oversized one is replaced by a UUID; a well-formed W3C traceparent puts its trace id on the
// request's log lines, a malformed one is ignored. In process and through a listening server.
import t from 'tap';
import { buildTestApp } from '../helper.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

t.test('x-request-id', async (t) => {
  const { app, logs } = await buildTestApp(t, { captureLogs: true });

  t.test('an acceptable one is the request id: response header, error body and log line', async (t) => {
    for (const id of ['req-123', 'a1b2c3d4-e5f6-4711-8899-aabbccddeeff', 'lb:7f/abc+def=', 'x'.repeat(128)]) {
      const res = await app.inject({ url: '/auth/me', headers: { 'x-request-id': id } });
      t.equal(res.headers['x-request-id'], id, `${id.slice(0, 20)}: echoed`);
      t.equal(res.json().request_id, id, 'in the error body');
      t.ok(
        logs.some((l) => l.reqId === id && l.msg === 'request'),
        'in the log line',
      );
    }
  });

  t.test('a malformed or oversized one is replaced by a fresh UUID', async (t) => {
    const bad = ['x'.repeat(129), 'has space', 'quote"d', 'semi;colon', 'ünïcode', '<script>', 'a,b', ''];
    for (const id of bad) {
      const res = await app.inject({ url: '/health/live', headers: { 'x-request-id': id } });
      t.match(res.headers['x-request-id'], UUID, `${JSON.stringify(id.slice(0, 20))}: replaced`);
      t.notOk(
        logs.some((l) => l.reqId === id),
        'never logged',
      );
    }
    const twice = await app.inject({ url: '/health/live', headers: { 'x-request-id': ['one', 'two'] } });
    t.match(twice.headers['x-request-id'], UUID, 'two headers: replaced');
  });

  t.test('50 requests at the same instant each keep their own id', async (t) => {
    const ids = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
    const replies = await Promise.all(
      ids.map((id) => app.inject({ url: '/health/live', headers: { 'x-request-id': id } })),
    );
    t.same(
      replies.map((r) => r.headers['x-request-id']),
      ids,
      'each of the 50 simultaneous requests gets back its own id, none crossed',
    );
  });
});

t.test('traceparent', async (t) => {
  const { app, logs } = await buildTestApp(t, { captureLogs: true });

  t.test("a well-formed one puts its trace id on the request's log lines", async (t) => {
    for (const header of [`00-${TRACE}-00f067aa0ba902b7-01`, `01-${TRACE}-00f067aa0ba902b7-00-future-fields`]) {
      const res = await app.inject({
        url: '/health/live',
        headers: { traceparent: header, 'x-request-id': `trace-${header.slice(0, 2)}` },
      });
      const lines = logs.filter((l) => l.reqId === res.headers['x-request-id']);
      t.ok(lines.length > 0, `${header.slice(0, 2)}: the request was logged under its id`);
      t.ok(
        lines.every((l) => l.traceId === TRACE),
        `${header.slice(0, 2)}: every line has the trace id`,
      );
    }
  });

  t.test('a malformed one is ignored: the request is served, no trace id is logged', async (t) => {
    const bad = [
      `00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`, // uppercase hex
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, // all-zero trace id
      `00-${TRACE}-${'0'.repeat(16)}-01`, // all-zero parent id
      `ff-${TRACE}-00f067aa0ba902b7-01`, // forbidden version
      `00-${TRACE}-00f067aa0ba902b7-01-extra`, // version 00 has nothing after the flags
      `00-${TRACE.slice(1)}-00f067aa0ba902b7-01`, // short trace id
      'garbage',
      `00-${TRACE}-00f067aa0ba902b7`, // no flags
    ];
    for (const [i, header] of bad.entries()) {
      const res = await app.inject({
        url: '/health/live',
        headers: { traceparent: header, 'x-request-id': `bad-trace-${i}` },
      });
      t.equal(res.statusCode, 200, `${header.slice(0, 12)}…: served`);
      const lines = logs.filter((l) => l.reqId === `bad-trace-${i}`);
      t.ok(lines.length > 0 && lines.every((l) => !('traceId' in l)), 'no trace id logged');
    }
  });
});

t.test('at LOG_LEVEL=warn, a request that logs writes its ids; one that does not writes nothing', async (t) => {
  // Each request's logger is made on its first line (src/http/request-logger.ts): the ids must still be there.
  const { app, logs } = await buildTestApp(t, { captureLogs: true, env: { LOG_LEVEL: 'warn' } });
  const quiet = await app.inject({ url: '/health/live', headers: { 'x-request-id': 'quiet-1' } });
  t.equal(quiet.statusCode, 200);
  t.notOk(
    logs.some((l) => l.reqId === 'quiet-1'),
    'no line for a request with nothing to report at warn',
  );
  const refused = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      app.inject({
        method: 'POST',
        url: '/auth/refresh',
        headers: {
          origin: 'https://evil.example',
          'x-request-id': `warned-${i}`,
          traceparent: `00-${TRACE}-00f067aa0ba902b7-01`,
        },
      }),
    ),
  );
  t.ok(
    refused.every((r) => r.statusCode === 403 && r.json().code === 'csrf_rejected'),
    '50 cross-site refreshes at once are refused',
  );
  for (let i = 0; i < 50; i++) {
    const lines = logs.filter((l) => l.reqId === `warned-${i}`);
    t.ok(
      lines.length === 1 && lines[0]!.event === 'csrf_rejected' && lines[0]!.traceId === TRACE,
      `request ${i}: its one warn line carries its own request id and the trace id`,
    );
  }
  t.notOk(
    logs.some((l) => l.msg === 'request'),
    'no info line (the request line) is written at warn',
  );
});

t.test('the request line holds only its fixed fields, whichever logger writes it', async (t) => {
  // src/plugins/request-log.ts writes it without redaction when the request logged nothing else: a field added
  // there that could hold a secret must fail here first.
  const { app, logs } = await buildTestApp(t, { captureLogs: true });
  const fixed = new Set([
    'level',
    'time',
    'pid',
    'hostname',
    'msg',
    'reqId',
    'traceId',
    'method',
    'path',
    'route',
    'statusCode',
    'ms',
    'ip',
    'outcome',
  ]);
  await app.inject({
    url: '/health/live?token=secret',
    headers: { 'x-request-id': 'plain-1', traceparent: `00-${TRACE}-00f067aa0ba902b7-01` },
  });
  await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: 'nobody@example.com', password: 'hunter2-secret' },
    headers: { 'x-request-id': 'login-1' },
  });
  await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { origin: 'https://evil.example', 'x-request-id': 'warned-first' },
  });
  for (const id of ['plain-1', 'login-1', 'warned-first']) {
    const line = logs.find((l) => l.reqId === id && l.msg === 'request');
    t.ok(line, `${id}: its request line is written`);
    t.same(
      Object.keys(line!).filter((k) => !fixed.has(k)),
      [],
      `${id}: no field beyond the fixed ones`,
    );
    t.notMatch(JSON.stringify(line), /secret/, `${id}: neither the query string nor the body appears`);
  }
  t.match(
    logs.find((l) => l.reqId === 'plain-1' && l.msg === 'request'),
    { traceId: TRACE, path: '/health/live', statusCode: 200 },
  );
  t.match(
    logs.find((l) => l.reqId === 'login-1' && l.msg === 'request'),
    { outcome: 'failed', statusCode: 401 },
  );
});

t.test('through a listening server, both arrive as a client sends them', async (t) => {
  const { app, logs } = await buildTestApp(t, { captureLogs: true });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const ok = await fetch(`${address}/auth/me`, {
    headers: { 'x-request-id': 'edge-42', traceparent: `00-${TRACE}-00f067aa0ba902b7-01` },
  });
  t.equal(ok.headers.get('x-request-id'), 'edge-42', "the caller's request id comes back through a real socket");
  t.equal(
    ((await ok.json()) as { code: string }).code,
    'missing_token',
    'the request through the socket is refused as missing_token',
  );
  t.ok(
    logs.some((l) => l.reqId === 'edge-42' && l.traceId === TRACE && l.msg === 'request'),
    "the request line is logged with the caller's request id and trace id",
  );
  const bad = await fetch(`${address}/health/live`, { headers: { 'x-request-id': 'y'.repeat(500) } });
  t.match(bad.headers.get('x-request-id'), UUID, 'a 500-character request id sent over a socket is replaced by a UUID');
});
