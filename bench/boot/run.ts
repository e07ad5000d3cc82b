// npm run bench:boot: how long `node dist/src/server.js` takes from spawn to ready (/health/ready answers 200),
// and how much memory one process holds idle and after a short load, on PostgreSQL and on the embedded PGlite.
// Each database is started once cold (an empty database: migrations, keys generated), then three times warm on
// the same database and keys, as a restart or a rescheduled instance is; the median of the warm starts is the
// figure. Memory is the kernel's resident set (VmRSS) and its peak (VmHWM). Times depend on the machine and
// what else runs on it: the load average is printed with them, and nothing here asserts a bound.
import { loadavg } from 'node:os';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, freePort, sleep, startProcess, tempDir, type Running } from '../load/processes.js';
import { externalPostgres, freshDatabase, startPrivatePostgres, type PostgresServer } from '../load/postgres.js';
import { procStat } from '../load/proc-cpu.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = path.join(ROOT, 'dist/src/server.js');
const WARM_STARTS = 3;
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Started {
  proc: Running;
  base: string;
  readyMs: number;
  cpuMs: number;
}

async function start(cleanup: Cleanup, databaseUrl: string, keysDir: string): Promise<Started> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    ISSUER: base,
    DATABASE_URL: databaseUrl,
    KEYS_DIR: keysDir,
    RATE_LIMIT_PER_MINUTE: '0',
    PURGE_INTERVAL_SECONDS: '0',
    LOG_LEVEL: 'warn',
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX || '2', // as the image and `npm start` run it, unless given
  };
  const t0 = performance.now();
  const proc = startProcess(cleanup, 'Tessera', process.execPath, [ENTRY], env);
  for (;;) {
    if (proc.exited()) throw new Error(`Tessera exited during startup:\n${proc.stderr()}`);
    if (performance.now() - t0 > 600_000) throw new Error(`Tessera was not ready within 600 s:\n${proc.stderr()}`);
    const status = await fetch(`${base}/health/ready`).then(
      async (res) => {
        await res.arrayBuffer();
        return res.status;
      },
      () => 0,
    );
    if (status === 200) break;
    await sleep(10);
  }
  const readyMs = performance.now() - t0;
  return { proc, base, readyMs, cpuMs: procStat(proc.pid)?.ownMs ?? Number.NaN };
}

async function stop(s: Started): Promise<void> {
  s.proc.child.kill('SIGTERM');
  await new Promise<void>((resolve) => (s.proc.exited() ? resolve() : s.proc.child.once('exit', () => resolve())));
}

function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

/** A short, bounded load touching what most deployments use: sign-ups and logins (argon2id), /auth/me, JWKS, refresh. */
async function shortLoad(base: string): Promise<void> {
  const post = (p: string, body?: unknown, cookie?: string) =>
    fetch(`${base}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const password = 'correct horse battery staple';
  const users = Array.from({ length: 8 }, (_, i) => `boot-${Date.now()}-${i}@example.com`);
  await Promise.all(users.map((email) => post('/auth/register', { email, password }).then((r) => r.arrayBuffer())));
  const sessions = await Promise.all(
    users.map(async (email) => {
      const res = await post('/auth/login', { email, password });
      const body = (await res.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`login failed during the load: ${res.status}`);
      return { token: body.access_token, cookie: res.headers.get('set-cookie')!.split(';')[0]! };
    }),
  );
  await Promise.all(
    sessions.map(async (s) => {
      let cookie = s.cookie;
      for (let i = 0; i < 100; i++) {
        const me = await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${s.token}` } });
        await me.arrayBuffer();
        await (await fetch(`${base}/.well-known/jwks.json`)).arrayBuffer();
        if (i % 4 === 0) {
          const res = await post('/auth/refresh', undefined, cookie);
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`refresh failed during the load: ${res.status}`);
          cookie = res.headers.get('set-cookie')!.split(';')[0]!;
        }
      }
    }),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(cleanup: Cleanup, kind: string, databaseUrl: string, keysDir: string): Promise<string> {
  const cold = await start(cleanup, databaseUrl, keysDir);
  await stop(cold);
  const warm: Started[] = [];
  let idle = { rss: 0, peak: 0 };
  let loaded = { rss: 0, peak: 0 };
  for (let i = 0; i < WARM_STARTS; i++) {
    const s = await start(cleanup, databaseUrl, keysDir);
    warm.push(s);
    if (i === WARM_STARTS - 1) {
      await sleep(1000);
      idle = memoryMb(s.proc.pid);
      await shortLoad(s.base);
      loaded = memoryMb(s.proc.pid);
    }
    await stop(s);
  }
  const ms = (x: number) => `${Math.round(x)} ms`;
  return [
    `${kind}:`,
    `  start to ready, warm: median ${ms(median(warm.map((s) => s.readyMs)))} of ${warm.map((s) => ms(s.readyMs)).join(', ')}` +
      ` (CPU ${ms(median(warm.map((s) => s.cpuMs)))}); cold (empty database): ${ms(cold.readyMs)} (CPU ${ms(cold.cpuMs)})`,
    `  resident memory: idle ${idle.rss} MB (peak so far ${idle.peak} MB); after a short load ${loaded.rss} MB (peak ${loaded.peak} MB)`,
  ].join('\n');
}

async function postgres(cleanup: Cleanup): Promise<PostgresServer> {
  const given = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  return given && /^postgres(ql)?:\/\//.test(given) ? externalPostgres(given) : startPrivatePostgres(cleanup);
}

async function main(cleanup: Cleanup): Promise<void> {
  if (!existsSync(ENTRY))
    throw new Error('dist/src/server.js is missing: run npm run build first (npm run bench:boot does)');
  const load = loadavg()[0]!;
  log(`load average ${load.toFixed(2)}${load > 1 ? ': other work is running, times will read high' : ''}`);
  const lines: string[] = [];
  const server = await postgres(cleanup);
  log(`PostgreSQL: ${server.description}`);
  const { url } = await freshDatabase(cleanup, server);
  lines.push(await measure(cleanup, 'PostgreSQL', url, await tempDir(cleanup, 'tessera-boot-keys-')));
  const dataDir = await tempDir(cleanup, 'tessera-boot-data-');
  lines.push(await measure(cleanup, 'PGlite', `pglite:${dataDir}`, await tempDir(cleanup, 'tessera-boot-keys-')));
  console.log(lines.join('\n'));
}

const cleanup = new Cleanup();
main(cleanup)
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => cleanup.runAll());
