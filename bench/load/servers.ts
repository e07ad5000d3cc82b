// The listening processes of a load run: Tessera as production runs it (the built JavaScript, one
// process or WORKERS of them), a Redis for multi-process mode, and the Fastify hello-world yardstick.
// Tessera is configured only through environment variables, so this works for any version of it.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Cleanup, freePort, sleep, startProcess, tempDir, waitForHttp, type Running } from './processes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Variables passed through to Tessera from the benchmark's own environment; everything else is set here. */
const PASS_THROUGH = [
  'PATH',
  'HOME',
  'TMPDIR',
  'LANG',
  'TZ',
  'UV_THREADPOOL_SIZE',
  'MALLOC_ARENA_MAX',
  'WORKERS',
  'REDIS_URL',
  'ARGON2_MEMORY_KIB',
  'ARGON2_TIME_COST',
  'ARGON2_PARALLELISM',
];

export interface TesseraOptions {
  /** `dist`: node dist/src/server.js (after npm run build); `src`: the TypeScript through tsx. */
  from: 'dist' | 'src';
  databaseUrl: string;
  serviceClients: string;
  /** Overrides for WORKERS / REDIS_URL (--workers). */
  extraEnv: Record<string, string>;
  /** Bearer token of /metrics (statement counts: ./statements.ts). */
  metricsToken: string;
  /** --cpu-prof: a V8 CPU profile of every Tessera process, written into this folder when it exits. */
  cpuProf?: string | undefined;
}

export interface Tessera {
  base: string;
  pid: number;
  process: Running;
}

export async function startTessera(cleanup: Cleanup, opts: TesseraOptions): Promise<Tessera> {
  const entry = opts.from === 'dist' ? path.join(ROOT, 'dist/src/server.js') : path.join(ROOT, 'src/server.ts');
  if (!existsSync(entry))
    throw new Error(`${path.relative(ROOT, entry)} is missing: run npm run build first (npm run bench:load does)`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {};
  for (const name of PASS_THROUGH) if (process.env[name]) env[name] = process.env[name];
  env.MALLOC_ARENA_MAX ||= '2'; // as the image and `npm start` run it, unless given
  Object.assign(env, {
    NODE_ENV: 'development', // only decides whether an empty KEYS_DIR gets a key; it does here
    HOST: '127.0.0.1',
    PORT: String(port),
    ISSUER: base,
    DATABASE_URL: opts.databaseUrl,
    KEYS_DIR: await tempDir(cleanup, 'tessera-bench-keys-'),
    SERVICE_CLIENTS: opts.serviceClients,
    RATE_LIMIT_PER_MINUTE: '0',
    // The api-key scenario exchanges each connection's key as fast as it can: measured, not limited.
    API_KEY_RATE_LIMIT_PER_MINUTE: '0',
    API_KEY_ADDRESS_RATE_LIMIT_PER_MINUTE: '0',
    REFRESH_REUSE_GRACE_SECONDS: '0', // a client that doesn't rotate its cookie shows as 401s
    // The token endpoint's per-client limit too: the grant scenarios are measured, not limited.
    TOKEN_RATE_LIMIT_PER_MINUTE: '0',
    PURGE_INTERVAL_SECONDS: '0',
    // The device-code scenario registers its public client dynamically and approves its codes from addresses of
    // the benchmarking range given in X-Forwarded-For (bench/load/device-codes.ts).
    DYNAMIC_REGISTRATION: 'true',
    DYNAMIC_REGISTRATION_SCOPES: 'openid',
    TRUST_PROXY: 'loopback',
    // The outbox is polled once a minute, not every second: its statements would be charged to the requests
    // of a point (statements/req); nothing in a load run sends mail.
    MAIL_POLL_INTERVAL_MS: '60000',
    METRICS_TOKEN: opts.metricsToken,
    ...opts.extraEnv,
  });
  const prof = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.cpuProf)}`] : [];
  // Cluster workers (WORKERS > 1) inherit the primary's node flags, so they are profiled too.
  const args = [...prof, ...(opts.from === 'dist' ? [entry] : ['--import', 'tsx', entry])];
  const proc = startProcess(cleanup, 'Tessera', process.execPath, args, env);
  await waitForHttp(`${base}/health/ready`, proc, 'Tessera');
  return { base, pid: proc.pid, process: proc };
}

export async function startHello(cleanup: Cleanup): Promise<{ base: string; pid: number }> {
  const port = await freePort();
  const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production' };
  const proc = startProcess(
    cleanup,
    'hello-world',
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/load/hello-server.ts'), String(port)],
    env,
    5000,
  );
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/`, proc, 'hello-world');
  return { base, pid: proc.pid };
}

/** A throwaway redis-server on a free loopback port, without persistence. */
export async function startRedis(cleanup: Cleanup): Promise<string> {
  const port = await freePort();
  const proc = startProcess(
    cleanup,
    'redis-server',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { PATH: process.env.PATH ?? '' },
    5000,
  );
  for (let i = 0; i < 100; i++) {
    if (proc.exited())
      throw new Error(`redis-server exited (is it installed? Debian: apt-get install redis-server):\n${proc.stderr()}`);
    if (await pings(port)) return `redis://127.0.0.1:${port}`;
    await sleep(50);
  }
  throw new Error('redis-server did not answer PING');
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
