// TRUST_PROXY through a real forwarding hop: Tessera listens on loopback behind a small reverse proxy that
// appends the client's address to X-Forwarded-For, as nginx's $proxy_add_x_forwarded_for does. Clients
// connect from different loopback addresses (127.0.0.2, 127.0.0.3), so the proxy sees different clients.
// The client address Tessera believes shows in the per-address rate-limit budget of /auth/refresh.
import http from 'node:http';
import type net from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { loadConfig } from '../../src/config.js';
import { buildTestApp } from '../helper.js';
import { listen } from '../net-helper.js';

const LIMIT = 2;

/** A reverse proxy on 127.0.0.1 forwarding to `targetPort`, appending the peer it sees to X-Forwarded-For. */
async function startProxy(t: Test, targetPort: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const prior = req.headers['x-forwarded-for'];
    const forwardedFor = [prior, req.socket.remoteAddress].filter(Boolean).join(', ');
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: req.method,
        path: req.url,
        agent,
        headers: { ...req.headers, 'x-forwarded-for': forwardedFor },
      },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    agent.destroy();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

/** POST /auth/refresh (no cookie: 401, or 429 once the caller's budget is spent) from a given local address. */
function refreshFrom(port: number, localAddress: string, forwardedFor?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/auth/refresh',
        localAddress,
        agent: false,
        headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Tessera with TRUST_PROXY behind `hops` chained proxies; returns the port clients talk to. */
async function behindProxies(t: Test, trustProxy: string | undefined, hops = 1): Promise<number> {
  const env: Record<string, string> = {
    RATE_LIMIT_PER_MINUTE: String(LIMIT),
    ...(trustProxy !== undefined ? { TRUST_PROXY: trustProxy } : {}),
  };
  const { app } = await buildTestApp(t, { env });
  let port = await listen(app);
  for (let i = 0; i < hops; i++) port = await startProxy(t, port);
  return port;
}

async function spend(port: number, from: string, n: number, forwardedFor?: string): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < n; i++) codes.push(await refreshFrom(port, from, forwardedFor));
  return codes;
}

t.test('without TRUST_PROXY every client behind the proxy shares the proxy address and its budget', async (t) => {
  const port = await behindProxies(t, undefined);
  t.same(
    await spend(port, '127.0.0.2', LIMIT + 1),
    [401, 401, 429],
    "without TRUST_PROXY, the first client spends the proxy's budget",
  );
  t.equal(await refreshFrom(port, '127.0.0.3'), 429, 'a second client is refused: the negative control');
});

const trustForms: [string, string][] = [
  ['a hop count', '1'],
  ['the proxy address', '127.0.0.1'],
  ['the proxy CIDR', '127.0.0.0/31'],
  ['a list with a named range', '127.0.0.1, uniquelocal'],
];
for (const [form, value] of trustForms) {
  t.test(
    `TRUST_PROXY as ${form} (${value}): clients behind the proxy get their own budgets, and a forged X-Forwarded-For entry is not believed`,
    async (t) => {
      const port = await behindProxies(t, value);
      t.same(await spend(port, '127.0.0.2', LIMIT + 1), [401, 401, 429], 'client A spends its budget');
      t.equal(await refreshFrom(port, '127.0.0.3'), 401, 'client B has its own');
      t.equal(
        await refreshFrom(port, '127.0.0.2', '198.51.100.77'),
        429,
        'A claiming another address upstream is still A',
      );
    },
  );
}

t.test(
  'TRUST_PROXY=2 behind two chained proxies finds the client; a forged entry beyond the second hop is not believed',
  async (t) => {
    const port = await behindProxies(t, '2', 2);
    t.same(await spend(port, '127.0.0.2', LIMIT + 1), [401, 401, 429], 'client A spends its budget behind two proxies');
    t.equal(await refreshFrom(port, '127.0.0.3'), 401, 'client B behind two proxies has its own budget');
    t.equal(
      await refreshFrom(port, '127.0.0.2', '198.51.100.77'),
      429,
      'A claiming another address beyond the second hop is still A',
    );
  },
);

t.test(
  'TRUST_PROXY=true believes the whole chain: separate budgets, and (as docs/deployment.md warns) the leftmost entry, forged or not',
  async (t) => {
    const port = await behindProxies(t, 'true');
    t.same(await spend(port, '127.0.0.2', LIMIT + 1), [401, 401, 429], 'client A spends its budget');
    t.equal(await refreshFrom(port, '127.0.0.3'), 401, 'client B has its own budget');
    t.equal(
      await refreshFrom(port, '127.0.0.2', '198.51.100.77'),
      401,
      'true is for proxies that replace the header, not append to it',
    );
  },
);

t.test('50 requests at once from two clients behind the proxy: each client gets exactly its own budget', async (t) => {
  const limit = 10;
  const { app } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: String(limit), TRUST_PROXY: '1' } });
  const port = await startProxy(t, await listen(app));
  const from = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? '127.0.0.2' : '127.0.0.3'));
  const codes = await Promise.all(from.map((address) => refreshFrom(port, address)));
  for (const address of ['127.0.0.2', '127.0.0.3']) {
    const mine = codes.filter((_, i) => from[i] === address);
    t.equal(mine.filter((c) => c === 401).length, limit, `${address}: ${limit} answered`);
    t.equal(mine.filter((c) => c === 429).length, 25 - limit, `${address}: the rest refused`);
  }
});

t.test('a TRUST_PROXY Fastify could not honour is a boot error naming TRUST_PROXY', async (t) => {
  for (const bad of ['yes', '10.0.0.0/33', '999.1.1.1', '1.2.3', '-1', '100', '127.0.0.1, nonsense', 'localhost']) {
    t.throws(() => loadConfig({ TRUST_PROXY: bad }), { name: 'ConfigError', message: /TRUST_PROXY/ }, bad);
  }
  t.equal(loadConfig({ TRUST_PROXY: '0' }).trustProxy, false, '0 hops: nobody is trusted');
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false, 'TRUST_PROXY=false trusts nobody');
  t.equal(loadConfig({ TRUST_PROXY: '3' }).trustProxy, 3, 'TRUST_PROXY=3 trusts three hops');
  t.same(
    loadConfig({ TRUST_PROXY: '10.0.0.1, fd00::/8' }).trustProxy,
    ['10.0.0.1', 'fd00::/8'],
    'a TRUST_PROXY list keeps each address and range',
  );
});
