// Command-line options of npm run bench:load, validated up front: a typo should not cost a
// ten-minute run. Everything is bounded (durations, runs, concurrency) so a run always ends.
import { parseArgs } from 'node:util';
import { SCENARIOS, type Scenario } from './scenarios.js';

export const USAGE = `usage: npm run bench:load -- [options]
  --duration S        seconds per load point (default 4; 1-120)
  --runs N            repetitions; medians and min–max are reported (default 3; 1-10)
  --db D              pglite, postgres or both (default both)
  --concurrency LIST  connections per point (default 1,8,32,64; each 1-256)
  --scenarios LIST    refresh,me,jwks,introspect,login,api-key,client-credentials,device-code,
                      authorization-code,refresh-token (default all)
  --workers N         run Tessera with WORKERS=N and a private redis-server as REDIS_URL
  --compare-workers N PostgreSQL with WORKERS=1, then WORKERS=N (both with the private Redis); reports
                      the throughput of N workers as a ratio to one for me, jwks and refresh
  --json FILE         also write every measurement as JSON
  --from dist|src     built JavaScript (default; npm run bench:load builds it) or the TypeScript via tsx
  --write-docs FILE   replace the marked results region of FILE (docs/benchmarks.md) with this run's report
  --log-level L       Tessera's LOG_LEVEL (default warn: no request line; info, production's default,
                      writes one per request)
  --cpu-prof DIR      run Tessera under node --cpu-prof: one .cpuprofile per process in DIR, written at exit
PostgreSQL: a fresh database in BENCH_DATABASE_URL (or a postgres:// DATABASE_URL), dropped at the end;
without one, a private server from /usr/lib/postgresql/*/bin on a free port, removed at the end.`;

export interface Options {
  seconds: number;
  runs: number;
  dbs: Array<'pglite' | 'postgres'>;
  concurrency: number[];
  scenarios: Scenario[];
  workers: number | undefined;
  compareWorkers: number | undefined;
  json: string | undefined;
  from: 'dist' | 'src';
  cpuProf: string | undefined;
  logLevel: 'warn' | 'info';
  writeDocs: string | undefined;
}

export class UsageError extends Error {}

function int(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

export function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '4' },
      runs: { type: 'string', default: '3' },
      db: { type: 'string', default: 'both' },
      concurrency: { type: 'string', default: '1,8,32,64' },
      scenarios: { type: 'string', default: SCENARIOS.join(',') },
      workers: { type: 'string' },
      'compare-workers': { type: 'string' },
      json: { type: 'string' },
      from: { type: 'string', default: 'dist' },
      'cpu-prof': { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      'write-docs': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const db = values.db!;
  if (!['pglite', 'postgres', 'both'].includes(db)) throw new UsageError('--db must be pglite, postgres or both');
  const scenarios = values
    .scenarios!.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of scenarios)
    if (!(SCENARIOS as readonly string[]).includes(s))
      throw new UsageError(`unknown scenario ${s}: choose from ${SCENARIOS.join(',')}`);
  if (scenarios.length === 0) throw new UsageError('--scenarios is empty');
  const concurrency = [
    ...new Set(values.concurrency!.split(',').map((c) => int('concurrency', c.trim(), 1, 256))),
  ].sort((a, b) => a - b);
  if (values.from !== 'dist' && values.from !== 'src') throw new UsageError('--from must be dist or src');
  if (values['log-level'] !== 'warn' && values['log-level'] !== 'info')
    throw new UsageError('--log-level must be warn or info');
  if (values.workers !== undefined && values['compare-workers'] !== undefined)
    throw new UsageError('--workers and --compare-workers exclude each other');
  return {
    seconds: int('duration', values.duration!, 1, 120),
    runs: int('runs', values.runs!, 1, 10),
    dbs: db === 'both' ? ['postgres', 'pglite'] : [db as 'pglite' | 'postgres'],
    concurrency,
    scenarios: scenarios as Scenario[],
    workers: values.workers === undefined ? undefined : int('workers', values.workers, 1, 64),
    compareWorkers:
      values['compare-workers'] === undefined ? undefined : int('compare-workers', values['compare-workers'], 2, 64),
    json: values.json,
    from: values.from,
    cpuProf: values['cpu-prof'],
    logLevel: values['log-level'] as 'warn' | 'info',
    writeDocs: values['write-docs'],
  };
}
