// SIGTERM with clients holding keep-alive sockets: the process drains and exits by itself (code 0),
// answering the request in flight with `Connection: close`, instead of waiting for close-with-grace's
// 10-second kill (which exits 1).
import t from 'tap';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { spawnTessera } from '../process.js';
import { PASSWORD, postgresUrl, createTestDatabase, tempDir, uniqueEmail } from '../helper.js';

async function send(url: string, method: string, path: string, body?: unknown, agent?: Agent) {
  return new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      `${url}${path}`,
      { method, agent, headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

t.test(
  'SIGTERM with idle keep-alive clients and a request in flight: the request is answered and the process exits 0 by itself',
  async (t) => {
    const pgDb = postgresUrl ? await createTestDatabase() : undefined;
    if (pgDb) t.teardown(() => pgDb.close());
    const dataDir = await tempDir(t, 'tessera-data-');
    const keysDir = await tempDir(t, 'tessera-keys-');
    const tessera = await spawnTessera(t, { DATABASE_URL: pgDb ? pgDb.url : `pglite:${dataDir}`, KEYS_DIR: keysDir });
    const email = uniqueEmail();
    t.equal(
      (await send(tessera.url, 'POST', '/auth/register', { email, password: PASSWORD })).status,
      201,
      'registering works before the SIGTERM',
    );

    // Five clients that keep their connection open and idle (Node's default Keep-Alive: timeout=72 s).
    const agent = new Agent({ keepAlive: true, maxSockets: 5 });
    t.teardown(() => agent.destroy());
    const idle = await Promise.all(
      Array.from({ length: 5 }, () => send(tessera.url, 'GET', '/health/live', undefined, agent)),
    );
    t.ok(
      idle.every((r) => r.status === 200 && r.headers.connection === 'keep-alive'),
      'five keep-alive connections, now idle',
    );
    const sockets = Object.values(agent.freeSockets).flat();
    t.equal(sockets.length, 5, 'the five idle keep-alive sockets are held open');
    const idleClosed = Promise.all(sockets.map((s) => new Promise((resolve) => s!.once('close', resolve))));

    // A login whose body is half sent: it is in flight when SIGTERM arrives.
    const inFlight = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = httpRequest(
        `${tessera.url}/auth/login`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(JSON.stringify({ email, password: PASSWORD }).length),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        },
      );
      req.on('error', reject);
      const body = JSON.stringify({ email, password: PASSWORD });
      req.write(body.slice(0, 10));
      // The rest goes once the process has begun shutting down.
      void tessera.waitForLog((l) => l.msg === 'shutting down').then(() => req.end(body.slice(10)));
    });
    await new Promise((r) => setTimeout(r, 300)); // let the server read the headers
    tessera.child.kill('SIGTERM');

    const answered = await inFlight;
    t.equal(answered.status, 200, 'the request in flight was answered');
    t.equal(answered.connection, 'close', 'and told its client to close the connection');
    await idleClosed;
    t.pass('the idle keep-alive connections were closed by the server');
    const { code } = await tessera.exited;
    t.equal(code, 0, 'exited by itself, not killed by the grace timeout (which exits 1)');
    t.notOk(tessera.stderr.join('').includes('killed by timeout'), 'the process was not killed by the grace timeout');
  },
);

// Ctrl-C signals the whole foreground process group: the server gets SIGINT from the terminal and again from npm,
// which forwards it. systemd's default KillMode signals the whole control group with SIGTERM, likewise twice.
for (const [signal, who] of [
  ['SIGINT', 'Ctrl-C in a terminal (the group, then npm forwarding it)'],
  ['SIGTERM', 'systemd stopping the unit (the whole group, then the parent forwarding it)'],
] as const) {
  t.test(`${who}: the repeated ${signal} counts as one, the request in flight is answered, exit 0`, async (t) => {
    const pgDb = postgresUrl ? await createTestDatabase() : undefined;
    if (pgDb) t.teardown(() => pgDb.close());
    const dataDir = await tempDir(t, 'tessera-data-');
    const tessera = await spawnTessera(
      t,
      { DATABASE_URL: pgDb ? pgDb.url : `pglite:${dataDir}`, KEYS_DIR: await tempDir(t, 'tessera-keys-') },
      { processGroup: true },
    );
    const email = uniqueEmail();
    t.equal(
      (await send(tessera.url, 'POST', '/auth/register', { email, password: PASSWORD })).status,
      201,
      'registering works before the signal',
    );
    const body = JSON.stringify({ email, password: PASSWORD });
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${tessera.url}/auth/login`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      // The rest goes after both signals have arrived.
      void tessera
        .waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('already shutting down'))
        .then(() => req.end(body.slice(10)));
    });
    await new Promise((r) => setTimeout(r, 300)); // let the server read the headers
    const pid = tessera.child.pid!;
    process.kill(-pid, signal); // the group, as the terminal or systemd does
    await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, signal); // the same signal again, forwarded by the parent

    t.equal(await inFlight, 200, 'the request in flight was answered');
    const { code } = await tessera.exited;
    t.equal(code, 0, 'the process exited cleanly, not forced (exit 1) by the repeated signal');
    t.notOk(
      tessera.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('exiting now')),
      'the repeated signal was not taken as "stop now"',
    );
  });
}
