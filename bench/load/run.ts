// npm run bench:load: Tessera as a real listening process on PostgreSQL and on PGlite, driven over
// real HTTP by autocannon at several concurrencies. The micro-benchmark (bench/run.ts) shows what each
// hot path costs in-process; this shows what a deployment gets: throughput, latency, and CPU per request
// of Tessera and of PostgreSQL (from /proc), each against yardsticks measured in the same run
// (raw RS256 signing, argon2id hashing, a Fastify hello world). Exits 1 if any request failed.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { loadConfig } from '../../src/config.js';
import { hashClientSecret } from '../../src/domain/tokens/service-clients.js';
import { benchDatabase, log, type BenchContext } from './bench-database.js';
import { UsageError, USAGE, parseOptions, type Options } from './options.js';
import { Cleanup } from './processes.js';
import { pointsTable, referencesLine, summarize, targets, targetsTable, type DbReport } from './report.js';
import { startHello, startRedis } from './servers.js';
import { checkResultsRegion, resultsRegion, writeResults } from './write-docs.js';
import { workersRatioTable } from './workers-ratio.js';

async function main(opts: Options, cleanup: Cleanup): Promise<number> {
  if (opts.writeDocs) await checkResultsRegion(opts.writeDocs);
  const loadBefore = loadavg();
  // What the report prints, also kept for --write-docs.
  const printed: string[] = [];
  const print = (line: string) => {
    console.log(line);
    printed.push(line);
  };
  if (loadBefore[0]! > 0.5)
    log(
      `bench:load: the load average is ${loadBefore.map((l) => l.toFixed(2)).join(', ')}: something else is running; absolute figures will be low, compare the same run's ratios`,
    );
  const argon2 = loadConfig(pick(process.env, ['ARGON2_MEMORY_KIB', 'ARGON2_TIME_COST', 'ARGON2_PARALLELISM'])).argon2;
  const argon2Cost = `m=${argon2.memoryCost} KiB, t=${argon2.timeCost}, p=${argon2.parallelism}`;
  const extraEnv: Record<string, string> = { LOG_LEVEL: opts.logLevel };
  if (opts.workers !== undefined || opts.compareWorkers !== undefined) {
    extraEnv.WORKERS = String(opts.workers ?? opts.compareWorkers);
    extraEnv.REDIS_URL = await startRedis(cleanup);
  }
  const workers = Number(extraEnv.WORKERS ?? process.env.WORKERS ?? 1) || 1;
  let dbs = opts.dbs;
  if (workers > 1 && dbs.includes('pglite')) {
    log("bench:load: WORKERS > 1 needs PostgreSQL (PGlite is one process's database): skipping PGlite");
    dbs = dbs.filter((d) => d !== 'pglite');
    if (dbs.length === 0) return 2;
  }
  const refConcurrency = opts.concurrency.includes(32) ? 32 : opts.concurrency.at(-1)!;
  const pacedSessions = Math.max(32, refConcurrency);
  const pointsPerRun =
    opts.scenarios.length * opts.concurrency.length +
    (opts.scenarios.includes('jwks') ? opts.concurrency.length : 0) +
    (opts.scenarios.includes('refresh') ? 1 : 0);
  const estimate =
    (opts.compareWorkers ? 2 : 1) *
    dbs.length *
    (opts.runs * (pointsPerRun * opts.seconds + 12) + opts.scenarios.length + 15);
  log(
    `bench:load: ${dbs.join(' and ')}; ${opts.runs} run(s) of ${pointsPerRun} points × ${opts.seconds} s; about ${Math.ceil(estimate / 60)} min`,
  );

  const secret = randomBytes(32).toString('base64url');
  // introspect and revoke for those scenarios, admin to register the OAuth client of the authorization-code and
  // refresh-token scenarios (bench/load/oauth-scenarios.ts).
  const serviceClients = `bench:${hashClientSecret(secret)};scope=introspect revoke admin`;
  // Started alongside Tessera's boot (awaited where first needed).
  const hello = opts.scenarios.includes('jwks') ? startHello(cleanup) : undefined;
  hello?.catch(() => undefined); // a failure surfaces where it is awaited
  const reports: DbReport[] = [];

  const ctx: BenchContext = {
    opts,
    cleanup,
    argon2,
    serviceClients,
    clientSecret: secret,
    extraEnv,
    workers,
    hello,
    pacedSessions,
  };
  const benchOne = async (db: 'postgres' | 'pglite', with_: BenchContext) => {
    const dbCleanup = new Cleanup();
    cleanup.add(`${db} run`, () => dbCleanup.runAll());
    const report = await benchDatabase(db, with_, dbCleanup);
    await dbCleanup.runAll();
    return report;
  };
  // --compare-workers: WORKERS=1 first, on the same PostgreSQL server and Redis, then WORKERS=N.
  let single: DbReport | undefined;
  if (opts.compareWorkers) {
    const one: BenchContext = { ...ctx, workers: 1, extraEnv: { ...extraEnv, WORKERS: '1' } };
    single = await benchOne('postgres', one);
    ctx.server = one.server;
    reports.push(single);
  }
  for (const db of dbs) reports.push(await benchOne(db, ctx));

  let failures = 0;
  for (const report of reports) {
    const summaries = summarize(report);
    failures += summaries.reduce((n, s) => n + s.non2xx + s.errors, 0);
    print(`\n## ${report.db === 'postgres' ? 'PostgreSQL' : 'PGlite'}: ${report.description}`);
    print(
      `${opts.runs} run(s) × ${opts.seconds} s per point; medians, spread (min–max) over runs; ratios to the same run's references`,
    );
    print(referencesLine(report, argon2Cost));
    print(
      `refresh@½peak: refresh at a steady half of that run's peak refresh rate, over up to ${pacedSessions} connections and sessions (open loop)`,
    );
    print("hello: the Fastify hello-world yardstick (its CPU columns are its own process's)\n");
    print(pointsTable(summaries, report.db === 'pglite'));
    print(`\ntargets (set for PostgreSQL on 2 cores)${report.db === 'pglite' ? ', for comparison' : ''}:`);
    print(targetsTable(targets(report, refConcurrency)));
  }
  if (single) {
    print(`\nWORKERS=${workers} against WORKERS=1, PostgreSQL, throughput (run k against run k; medians, spread):`);
    print(workersRatioTable(single, reports.at(-1)!, workers));
  }
  if (opts.json)
    await writeFile(
      opts.json,
      JSON.stringify({ options: opts, argon2Cost, reports, summaries: reports.map(summarize) }, null, 2),
    );
  if (failures > 0) print(`\n${failures} requests failed (non-2xx or errors): the figures above are not valid`);
  if (opts.writeDocs) {
    await writeResults(opts.writeDocs, resultsRegion(process.argv.slice(2), printed.join('\n'), loadBefore));
    log(`bench:load: results written into ${opts.writeDocs}`);
  }
  return failures > 0 ? 1 : 0;
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
