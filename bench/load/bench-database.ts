// One database's part of npm run bench:load: a fresh database, Tessera on it, a warm-up, then each run:
// the yardsticks, every scenario at every concurrency, the hello world, and refresh at half its peak.
// Everything it starts is registered in `cleanup`, which the caller runs when the database is done.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import type { Options } from './options.js';
import { pacedRefresh } from './paced.js';
import {
  externalPostgres,
  freshDatabase,
  postgresCpuMeter,
  startPrivatePostgres,
  type PostgresServer,
} from './postgres.js';
import { processTree, treeCpuMs } from './proc-cpu.js';
import { monotonicUs, type ProfileWindow } from './profile-summary.js';
import { type Cleanup, sleep, tempDir } from './processes.js';
import { measureArgon2, measureRs256, type Argon2Cost } from './references.js';
import type { DbReport, PointRecord, RunReferences } from './report.js';
import { loginSessions, registerUsers, scenarioSpec, type Target } from './scenarios.js';
import { startTessera } from './servers.js';
import { readCounts, statementsPerRequest } from './statements.js';

export const log = (line: string) => process.stderr.write(`${line}\n`);

export interface BenchContext {
  opts: Options;
  /** The run-wide cleanup (a private PostgreSQL outlives one database's part). */
  cleanup: Cleanup;
  argon2: Argon2Cost;
  serviceClients: string;
  clientSecret: string;
  extraEnv: Record<string, string>;
  workers: number;
  /** The hello-world yardstick, when JWKS is measured. */
  hello: Promise<{ base: string; pid: number }> | undefined;
  /** Sessions (and at most connections) of the paced refresh. */
  pacedSessions: number;
  /** Started by the first PostgreSQL part, reused by later ones. */
  server?: PostgresServer;
}

export async function benchDatabase(db: 'postgres' | 'pglite', ctx: BenchContext, cleanup: Cleanup): Promise<DbReport> {
  const { opts, argon2, pacedSessions, serviceClients, extraEnv, workers } = ctx;
  let databaseUrl: string;
  let description: string;
  let pgCpu: (() => Promise<number>) | undefined;
  if (db === 'postgres') {
    const given =
      process.env.BENCH_DATABASE_URL ||
      (/^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL : undefined);
    ctx.server ??= given ? await externalPostgres(given) : await startPrivatePostgres(ctx.cleanup);
    const server = ctx.server;
    const fresh = await freshDatabase(cleanup, server);
    databaseUrl = fresh.url;
    pgCpu = await postgresCpuMeter(cleanup, server, fresh.name);
    description = `${server.description}, database ${fresh.name}${pgCpu ? '' : ' (its CPU is not visible from here)'}`;
  } else {
    databaseUrl = `pglite:${await tempDir(cleanup, 'tessera-bench-pglite-')}/data`;
    description = "PGlite (embedded, on disk in a temp directory; its CPU is Tessera's)";
  }
  if (opts.cpuProf) await mkdir(opts.cpuProf, { recursive: true });
  const metricsToken = randomBytes(24).toString('base64url');
  const tessera = await startTessera(cleanup, {
    metricsToken,
    from: opts.from,
    databaseUrl,
    serviceClients,
    extraEnv,
    cpuProf: opts.cpuProf,
  });
  description += `; Tessera from ${opts.from}, WORKERS=${workers}, LOG_LEVEL=${opts.logLevel}; ${availableParallelism()} cores`;
  log(`\n${db}: ${description}`);
  const target: Target = { base: tessera.base, clientId: 'bench', clientSecret: ctx.clientSecret };
  const maxC = opts.concurrency.at(-1)!;
  // One user per connection: Tessera checks one password guess at a time per account and address, so two
  // connections logging in as one user would get 429s that say nothing about speed.
  const users = await registerUsers(
    target,
    Math.max(2, maxC, opts.scenarios.includes('refresh') ? pacedSessions : 0),
    randomBytes(3).toString('hex'),
  );
  const report: DbReport = { db, description, references: [], points: [] };
  const hello = await ctx.hello;
  // With --cpu-prof: when each point ran, so bench/load/profile-summary.ts can take one scenario's samples.
  const windows: ProfileWindow[] = [];
  if (opts.cpuProf)
    cleanup.add('write the profile windows', () =>
      writeFile(path.join(opts.cpuProf!, `points-${db}.json`), JSON.stringify(windows, null, 1)),
    );

  const measure = async (
    run: number,
    scenario: string,
    concurrency: number,
    load: LoadSpec | (() => Promise<LoadResult>),
    pid: number,
    withPg: boolean,
  ) => {
    await settle(tessera.pid);
    const counted = pid === tessera.pid && workers === 1;
    const c0 = counted ? await readCounts(tessera.base, metricsToken) : undefined;
    const from = monotonicUs();
    const t0 = treeCpuMs(pid);
    const pg0 = withPg && pgCpu ? await pgCpu() : undefined;
    const result = typeof load === 'function' ? await load() : await runLoad(load);
    const tesseraCpu = treeCpuMs(pid) - t0;
    windows.push({ run, scenario, concurrency, fromUs: from, toUs: monotonicUs() });
    let statements: number | undefined;
    if (c0) {
      await settle(tessera.pid); // the requests still in flight are counted on both sides
      statements = statementsPerRequest(c0, await readCounts(tessera.base, metricsToken));
    }
    const pgUsed = pg0 !== undefined ? (await pgCpu!()) - pg0 : undefined;
    const per = (ms: number | undefined) =>
      ms === undefined || result.completed === 0 ? undefined : ms / result.completed;
    const point: PointRecord = {
      run,
      scenario,
      concurrency,
      result,
      tesseraCpuMs: per(tesseraCpu),
      postgresCpuMs: per(pgUsed),
      ...(statements !== undefined ? { statements } : {}),
    };
    const failed =
      result.non2xx + result.errors > 0
        ? `  FAILED: ${result.non2xx} non-2xx ${JSON.stringify(result.statuses)}, ${result.errors} errors${result.firstError ? ` (${result.firstError})` : ''}`
        : '';
    const late = result.late
      ? `  ${result.late} not sent on schedule (the server fell behind the pace: this p99 is not at the set rate)`
      : '';
    log(
      `  run ${run} ${scenario.padEnd(13)} c=${String(concurrency).padEnd(3)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms${statements !== undefined ? `  ${statements.toFixed(2)} statements/req` : ''}${failed}${late}`,
    );
    return point;
  };

  // Warm-up (not recorded): JIT, connection pools, PostgreSQL's caches. Skipped by quick smoke runs.
  if (opts.seconds >= 3) {
    const warmC = Math.min(8, maxC);
    const warmSessions = await loginSessions(target, users, warmC);
    for (const scenario of opts.scenarios) {
      await runLoad(
        await scenarioSpec(scenario, { target, connections: warmC, seconds: 1, users, sessions: warmSessions }),
      );
    }
    if (hello)
      await runLoad({ url: hello.base, connections: warmC, seconds: 1, request: { method: 'GET', path: '/' } });
  }

  // Whether WORKERS took effect shows in the process count (a primary and its workers).
  const processes = processTree(tessera.pid).length;
  report.description += `; ${processes} Tessera process${processes === 1 ? '' : 'es'}`;

  for (let run = 1; run <= opts.runs; run++) {
    const refSeconds = Math.min(2, opts.seconds);
    const refs: RunReferences = { run, rs256: measureRs256(refSeconds) };
    report.references.push(refs);
    const sessions = await loginSessions(target, users, maxC); // for me and introspect; tokens live 15 min
    for (const scenario of opts.scenarios) {
      if (scenario === 'login') refs.argon2 = await measureArgon2(argon2, refSeconds);
      for (const c of opts.concurrency) {
        const spec = await scenarioSpec(scenario, { target, connections: c, seconds: opts.seconds, users, sessions });
        report.points.push(await measure(run, scenario, c, spec, tessera.pid, true));
      }
    }
    if (hello) {
      for (const c of opts.concurrency) {
        const spec: LoadSpec = {
          url: hello.base,
          connections: c,
          seconds: opts.seconds,
          request: { method: 'GET', path: '/' },
        };
        report.points.push(await measure(run, 'hello', c, spec, hello.pid, false));
      }
    }
    if (opts.scenarios.includes('refresh')) {
      const peak = Math.max(
        ...report.points.filter((p) => p.run === run && p.scenario === 'refresh').map((p) => p.result.rps),
      );
      // Sessions enough that a slow moment doesn't leave every one of them in flight.
      const fresh = await loginSessions(target, users, pacedSessions);
      const load = () => pacedRefresh(target, fresh, Math.max(1, peak / 2), opts.seconds);
      report.points.push({
        ...(await measure(run, 'refresh@½peak', pacedSessions, load, tessera.pid, true)),
        paced: true,
      });
    }
  }
  return report;
}

/**
 * Waits until Tessera is idle (under 10 % of a core for 250 ms), at most 30 s: requests a point left in
 * flight (autocannon stops without waiting for them) would otherwise slow the next point and be charged to it.
 */
async function settle(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let before = treeCpuMs(pid);
  while (Date.now() < deadline) {
    await sleep(250);
    const now = treeCpuMs(pid);
    if (now - before < 25) return;
    before = now;
  }
  log('  (Tessera still busy after 30 s; measuring anyway)');
}
