// npm run bench:load: Tessera as a real listening process on PostgreSQL and on PGlite, driven over
// real HTTP by autocannon at several concurrencies. The micro-benchmark (bench/run.ts) shows what each
// hot path costs in-process; this shows what a deployment gets: throughput, latency, and CPU per request
// of Tessera and of PostgreSQL (from /proc), each against yardsticks measured in the same run
// (raw RS256 signing, argon2id hashing, a Fastify hello world). Exits 1 if any request failed.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { loadConfig } from '../../src/config.js';
import { hashClientSecret } from '../../src/domain/service-clients.js';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import { pacedRefresh } from './paced.js';
import { UsageError, USAGE, parseOptions, type Options } from './options.js';
import { externalPostgres, freshDatabase, postgresCpuMeter, startPrivatePostgres, type PostgresServer } from './postgres.js';
import { processTree, treeCpuMs } from './proc-cpu.js';
import { Cleanup, tempDir } from './processes.js';
import { measureArgon2, measureRs256 } from './references.js';
import { pointsTable, referencesLine, summarize, targets, targetsTable, type DbReport, type PointRecord, type RunReferences } from './report.js';
import { loginSessions, registerUsers, scenarioSpec, type Target } from './scenarios.js';
import { startHello, startRedis, startTessera } from './servers.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(opts: Options, cleanup: Cleanup): Promise<number> {
  const argon2 = loadConfig(pick(process.env, ['ARGON2_MEMORY_KIB', 'ARGON2_TIME_COST', 'ARGON2_PARALLELISM'])).argon2;
  const argon2Cost = `m=${argon2.memoryCost} KiB, t=${argon2.timeCost}, p=${argon2.parallelism}`;
  const extraEnv: Record<string, string> = {};
  if (opts.workers !== undefined) {
    extraEnv.WORKERS = String(opts.workers);
    extraEnv.REDIS_URL = await startRedis(cleanup);
  }
  const workers = Number(extraEnv.WORKERS ?? process.env.WORKERS ?? 1) || 1;
  let dbs = opts.dbs;
  if (workers > 1 && dbs.includes('pglite')) {
    log('bench:load: WORKERS > 1 needs PostgreSQL (PGlite is one process\'s database): skipping PGlite');
    dbs = dbs.filter((d) => d !== 'pglite');
    if (dbs.length === 0) return 2;
  }
  const refConcurrency = opts.concurrency.includes(32) ? 32 : opts.concurrency.at(-1)!;
  const pacedSessions = Math.max(32, refConcurrency);
  const pointsPerRun = opts.scenarios.length * opts.concurrency.length
    + (opts.scenarios.includes('jwks') ? opts.concurrency.length : 0) + (opts.scenarios.includes('refresh') ? 1 : 0);
  const estimate = dbs.length * (opts.runs * (pointsPerRun * opts.seconds + 12) + opts.scenarios.length + 15);
  log(`bench:load: ${dbs.join(' and ')}; ${opts.runs} run(s) of ${pointsPerRun} points × ${opts.seconds} s; about ${Math.ceil(estimate / 60)} min`);

  const secret = randomBytes(32).toString('base64url');
  const serviceClients = `bench:${hashClientSecret(secret)}`;
  const hello = opts.scenarios.includes('jwks') ? await startHello(cleanup) : undefined;
  let server: PostgresServer | undefined;
  const reports: DbReport[] = [];

  for (const db of dbs) {
    const dbCleanup = new Cleanup();
    cleanup.add(`${db} run`, () => dbCleanup.runAll());
    let databaseUrl: string;
    let description: string;
    let pgCpu: (() => Promise<number>) | undefined;
    if (db === 'postgres') {
      const given = process.env.BENCH_DATABASE_URL || (/^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL : undefined);
      server ??= given ? await externalPostgres(given) : await startPrivatePostgres(cleanup);
      const fresh = await freshDatabase(dbCleanup, server);
      databaseUrl = fresh.url;
      pgCpu = await postgresCpuMeter(dbCleanup, server, fresh.name);
      description = `${server.description}, database ${fresh.name}${pgCpu ? '' : ' (its CPU is not visible from here)'}`;
    } else {
      databaseUrl = `pglite:${await tempDir(dbCleanup, 'tessera-bench-pglite-')}/data`;
      description = 'PGlite (embedded, on disk in a temp directory; its CPU is Tessera\'s)';
    }
    const tessera = await startTessera(dbCleanup, { from: opts.from, databaseUrl, serviceClients, extraEnv });
    description += `; Tessera from ${opts.from}, WORKERS=${workers}; ${availableParallelism()} cores`;
    log(`\n${db}: ${description}`);
    const target: Target = { base: tessera.base, clientId: 'bench', clientSecret: secret };
    const maxC = opts.concurrency.at(-1)!;
    const users = await registerUsers(target, Math.max(2, Math.min(16, maxC)), randomBytes(3).toString('hex'));
    const report: DbReport = { db, description, references: [], points: [] };

    const measure = async (run: number, scenario: string, concurrency: number, load: LoadSpec | (() => Promise<LoadResult>), pid: number, withPg: boolean) => {
      await settle(tessera.pid);
      const t0 = treeCpuMs(pid);
      const pg0 = withPg && pgCpu ? await pgCpu() : undefined;
      const result = typeof load === 'function' ? await load() : await runLoad(load);
      const tesseraCpu = treeCpuMs(pid) - t0;
      const pgUsed = pg0 !== undefined ? (await pgCpu!()) - pg0 : undefined;
      const per = (ms: number | undefined) => (ms === undefined || result.completed === 0 ? undefined : ms / result.completed);
      const point: PointRecord = { run, scenario, concurrency, result, tesseraCpuMs: per(tesseraCpu), postgresCpuMs: per(pgUsed) };
      const failed = result.non2xx + result.errors > 0 ? `  FAILED: ${result.non2xx} non-2xx ${JSON.stringify(result.statuses)}, ${result.errors} errors${result.firstError ? ` (${result.firstError})` : ''}` : '';
      log(`  run ${run} ${scenario.padEnd(13)} c=${String(concurrency).padEnd(3)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms${failed}`);
      return point;
    };

    // Warm-up (not recorded): JIT, connection pools, PostgreSQL's caches. Skipped by quick smoke runs.
    if (opts.seconds >= 3) {
      const warmC = Math.min(8, maxC);
      const warmSessions = await loginSessions(target, users, warmC);
      for (const scenario of opts.scenarios) {
        await runLoad(await scenarioSpec(scenario, { target, connections: warmC, seconds: 1, users, sessions: warmSessions }));
      }
      if (hello) await runLoad({ url: hello.base, connections: warmC, seconds: 1, request: { method: 'GET', path: '/' } });
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
          const spec: LoadSpec = { url: hello.base, connections: c, seconds: opts.seconds, request: { method: 'GET', path: '/' } };
          report.points.push(await measure(run, 'hello', c, spec, hello.pid, false));
        }
      }
      if (opts.scenarios.includes('refresh')) {
        const peak = Math.max(...report.points.filter((p) => p.run === run && p.scenario === 'refresh').map((p) => p.result.rps));
        // Sessions enough that a slow moment doesn't leave every one of them in flight.
        const fresh = await loginSessions(target, users, pacedSessions);
        const load = () => pacedRefresh(target, fresh, Math.max(1, peak / 2), opts.seconds);
        report.points.push({ ...(await measure(run, 'refresh@½peak', pacedSessions, load, tessera.pid, true)), paced: true });
      }
    }
    await dbCleanup.runAll();
    reports.push(report);
  }

  let failures = 0;
  for (const report of reports) {
    const summaries = summarize(report);
    failures += summaries.reduce((n, s) => n + s.non2xx + s.errors, 0);
    console.log(`\n## ${report.db === 'postgres' ? 'PostgreSQL' : 'PGlite'}: ${report.description}`);
    console.log(`${opts.runs} run(s) × ${opts.seconds} s per point; medians, spread (min–max) over runs; ratios to the same run's references`);
    console.log(referencesLine(report, argon2Cost));
    console.log(`refresh@½peak: refresh at a steady half of that run's peak refresh rate, over up to ${pacedSessions} connections and sessions (open loop)`);
    console.log('hello: the Fastify hello-world yardstick (its CPU columns are its own process\'s)\n');
    console.log(pointsTable(summaries, report.db === 'pglite'));
    console.log(`\ntargets (set for PostgreSQL on 2 cores)${report.db === 'pglite' ? ', for comparison' : ''}:`);
    console.log(targetsTable(targets(report, refConcurrency)));
  }
  if (opts.json) await writeFile(opts.json, JSON.stringify({ options: opts, argon2Cost, reports, summaries: reports.map(summarize) }, null, 2));
  if (failures > 0) console.log(`\n${failures} requests failed (non-2xx or errors): the figures above are not valid`);
  return failures > 0 ? 1 : 0;
}

/**
 * Waits until Tessera is idle (under 10 % of a core for 250 ms), at most 30 s: requests a point left in
 * flight (autocannon stops without waiting for them) would otherwise slow the next point and be charged to it.
 */
async function settle(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let before = treeCpuMs(pid);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = treeCpuMs(pid);
    if (now - before < 25) return;
    before = now;
  }
  log('  (Tessera still busy after 30 s; measuring anyway)');
}

function pick(env: NodeJS.ProcessEnv, names: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(names.filter((n) => env[n]).map((n) => [n, env[n]]));
}

let opts: Options | 'help';
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  console.error(`bench:load: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (opts === 'help') {
  console.log(USAGE);
} else {
  const cleanup = new Cleanup();
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log(`\nbench:load: ${signal}: stopping and cleaning up`);
      void cleanup.runAll().finally(() => process.exit(130));
    });
  }
  let code = 1;
  try {
    code = await main(opts, cleanup);
  } catch (err) {
    if (err instanceof UsageError) console.error(`bench:load: ${err.message}`);
    else console.error('bench:load: failed:', err);
  } finally {
    await cleanup.runAll();
  }
  process.exit(code);
}
