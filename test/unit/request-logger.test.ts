// Each request's logger (src/http/request-logger.ts), on its own with a pino logger like the app's: made on its
// first line at an enabled level, the same lines once made, and made at once where the request's level is its own.
// The HTTP side (ids on the lines of 50 requests at once, the request line) is test/integration/request-id.test.ts.
import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { requestLogger, untouchedRequestLogger } from '../../src/http/request-logger.js';

function appLogger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const log = pino({ level, redact: { paths: ['password', '*.password'], censor: '[redacted]' } }, stream);
  return { log: log as unknown as FastifyBaseLogger, lines };
}

const ids = { reqId: 'r-1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' };

t.test('nothing is made until a line at an enabled level; then the line has the ids, redacted', async (t) => {
  const { log, lines } = appLogger('warn');
  const request = requestLogger(log, ids, {});
  request.info({ a: 1 }, 'below the level');
  request.debug('below the level');
  t.ok(untouchedRequestLogger(request), 'lines below the level make nothing');
  t.equal(lines.length, 0, 'and write nothing');
  t.notOk(
    (request as FastifyBaseLogger & { isLevelEnabled(l: string): boolean }).isLevelEnabled('info'),
    'info is not enabled at warn',
  );
  request.warn({ password: 'hunter2', nested: { password: 'x' } }, 'warned');
  t.notOk(untouchedRequestLogger(request), 'a written line makes the child');
  t.match(lines, [{ level: 40, reqId: 'r-1', traceId: ids.traceId, password: '[redacted]', msg: 'warned' }]);
  t.equal((lines[0]!.nested as { password: string }).password, '[redacted]', 'nested secrets redacted too');
  request.error('again');
  t.match(lines[1], { level: 50, reqId: 'r-1', msg: 'again' }, 'later lines go to the same child');
});

t.test('a child taken before any line, a level set for the request alone, and the bindings keep the ids', async (t) => {
  const { log, lines } = appLogger('info');
  const first = requestLogger(log, ids, {});
  first.child({ step: 'x' }).info('from a grandchild');
  t.match(lines[0], { reqId: 'r-1', traceId: ids.traceId, step: 'x', msg: 'from a grandchild' });

  const second = requestLogger(log, { reqId: 'r-2' }, {});
  t.equal(second.level, 'info', "the app's level until set");
  second.level = 'debug';
  t.notOk(untouchedRequestLogger(second), 'setting a level makes the child');
  second.debug('debug for this request');
  t.match(lines[1], { level: 20, reqId: 'r-2', msg: 'debug for this request' });
  t.equal(log.level, 'info', "the app's level is unchanged");
  const third = requestLogger(log, { reqId: 'r-3' }, {}) as FastifyBaseLogger & { bindings(): object };
  t.same(third.bindings(), { reqId: 'r-3' }, 'bindings read through');
});

t.test('a route with its own level or serializers gets a real child at once', async (t) => {
  const { log, lines } = appLogger('info');
  const quiet = requestLogger(log, { reqId: 'r-4' }, { level: 'warn' });
  t.notOk(untouchedRequestLogger(quiet), 'not lazy');
  quiet.info('hidden by the route level');
  quiet.warn('shown');
  t.same(
    lines.map((l) => l.msg),
    ['shown'],
    "the route's level holds",
  );
  const shaped = requestLogger(log, { reqId: 'r-5' }, { serializers: { thing: () => 'shaped' } });
  shaped.info({ thing: { raw: true } }, 'with a serializer');
  t.match(lines[1], { reqId: 'r-5', thing: 'shaped' });
});
