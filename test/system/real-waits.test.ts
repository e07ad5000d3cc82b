// The two fast-tier checks that must wait real seconds, so they run here rather than in `npm test`: a readiness
// probe through a recorded disk-full fault leaves no timer behind (waits past the 2 s readiness bound, which is a
// constant of src/routes/health.ts, not an injected clock), and a client that hangs up mid-body over a real
// socket is logged as a client abort, not a database outage (the server must be reading the body first).
import t from 'tap';
import { request as httpRequest } from 'node:http';
import { buildTestApp } from '../helper.js';

t.test(
  'readiness probed through a recorded disk-full fault leaves no timer or promise behind to end the process',
  async (t) => {
    const { app } = await buildTestApp(t);
    const stray: unknown[] = [];
    const onRejection = (reason: unknown) => stray.push(reason);
    process.on('unhandledRejection', onRejection);
    t.teardown(() => void process.off('unhandledRejection', onRejection));
    app.databaseFaults.record('disk_full');
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({ method: 'GET', url: '/health/ready' });
      t.equal(res.statusCode, 503, `probe ${i + 1}: readiness answers 503 while a disk-full error is recent`);
    }
    // The readiness bound is 2 s: anything a probe left running would have fired by now.
    await new Promise((r) => setTimeout(r, 2500));
    t.same(stray, [], 'no probe left a rejection behind for the last-resort handler (which would end the process)');
    app.databaseFaults.writeSucceeded();
    t.equal(
      (await app.inject({ method: 'GET', url: '/health/ready' })).statusCode,
      200,
      'readiness is back once a write succeeds, in the same process',
    );
  },
);

t.test('a client that aborts mid-body is logged as a client abort, not a database outage', async (t) => {
  const { app, logs } = await buildTestApp(t, { captureLogs: true });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  await new Promise<void>((resolve) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/auth/login',
      headers: { 'content-type': 'application/json', 'content-length': '1000' },
    });
    req.on('error', () => resolve());
    req.write('{"email":"a@example.com","pass');
    setTimeout(() => req.destroy(), 1000); // once the server is reading the body
  });
  for (let i = 0; i < 1000 && !logs.some((l) => l.event === 'client_aborted'); i++)
    await new Promise((r) => setTimeout(r, 20));
  t.ok(
    logs.some((l) => l.event === 'client_aborted' && l.level === 30),
    'one info line says the client aborted',
  );
  t.notOk(
    logs.some((l) => l.event === 'database_unavailable' || (typeof l.level === 'number' && l.level >= 50)),
    'no error line, no outage',
  );
});
