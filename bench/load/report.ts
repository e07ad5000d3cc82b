// Turns the raw points of a load run into what a reader needs: per point the median of the runs with
// the spread (numbers move ±20 % between runs on a shared machine, so one figure alone says little),
// each also as a ratio to raw RS256 signing measured in the same run; then the targets, met or not.
import type { LoadResult } from './load.js';
import type { HashReference, SigningReference } from './references.js';

export interface PointRecord {
  run: number;
  /** A Tessera scenario, `hello` (the Fastify yardstick) or `refresh@½peak` (paced refresh). */
  scenario: string;
  /** Connections; for a paced point, the most it may use. */
  concurrency: number;
  /** Sent at a steady rate rather than as fast as answered. */
  paced?: boolean;
  result: LoadResult;
  /** CPU per completed request, ms, of Tessera (for `hello`: of the hello-world process). */
  tesseraCpuMs: number | undefined;
  postgresCpuMs: number | undefined;
  /** Database statements per answered request, from Tessera's /metrics (./statements.ts); one process only. */
  statements?: number;
}

export interface RunReferences {
  run: number;
  rs256: SigningReference;
  /** Measured just before the login points (when login is measured), so both see the same machine. */
  argon2?: HashReference;
}

export interface DbReport {
  db: 'postgres' | 'pglite';
  description: string;
  references: RunReferences[];
  points: PointRecord[];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: number[]): Spread | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return { median: v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2, min: v[0]!, max: v.at(-1)! };
}

const num = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmt = (s: Spread | undefined, unit = '') => (s ? `${num(s.median)}${unit}` : '—');
const fmtSpread = (s: Spread | undefined, unit = '') =>
  s ? `${num(s.median)}${unit} (${num(s.min)}–${num(s.max)})` : '—';

/** A plain-text table: the first two columns left-aligned, the figures right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export interface PointSummary {
  scenario: string;
  concurrency: number;
  rps: Spread | undefined;
  p50: Spread | undefined;
  p99: Spread | undefined;
  tesseraCpuMs: Spread | undefined;
  postgresCpuMs: Spread | undefined;
  /** req/s ÷ RS256 signatures/s of the same run. */
  rateRatio: Spread | undefined;
  /** (Tessera + PostgreSQL CPU per request) ÷ CPU of one RS256 signature, same run. */
  cpuRatio: Spread | undefined;
  /** Database statements per request (not a speed: the same on any machine). */
  statements: Spread | undefined;
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
  firstError?: string;
  /** Fewer than 10 requests per connection completed: latency near the duration; CPU per request overstated. */
  fewSamples: boolean;
  /** Paced points: requests not sent on schedule, the server behind the pace (LoadResult's `late`). */
  late: number;
}

export function summarize(report: DbReport): PointSummary[] {
  const refOf = (run: number) => report.references.find((r) => r.run === run);
  const groups = new Map<string, PointRecord[]>();
  for (const p of report.points) {
    const key = `${p.scenario}\u0000${p.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()].map((points) => {
    const statuses: Record<string, number> = {};
    for (const p of points)
      for (const [code, n] of Object.entries(p.result.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
    const firstError = points.find((p) => p.result.firstError)?.result.firstError;
    return {
      scenario: points[0]!.scenario,
      concurrency: points[0]!.concurrency,
      rps: spread(points.map((p) => p.result.rps)),
      p50: spread(points.map((p) => p.result.p50)),
      p99: spread(points.map((p) => p.result.p99)),
      tesseraCpuMs: spread(points.map((p) => p.tesseraCpuMs ?? NaN)),
      postgresCpuMs: spread(points.map((p) => p.postgresCpuMs ?? NaN)),
      rateRatio: spread(points.map((p) => p.result.rps / (refOf(p.run)?.rs256.perSecond ?? NaN))),
      cpuRatio: spread(
        points.map((p) => ((p.tesseraCpuMs ?? NaN) + (p.postgresCpuMs ?? 0)) / (refOf(p.run)?.rs256.cpuMs ?? NaN)),
      ),
      statements: spread(points.map((p) => p.statements ?? NaN)),
      non2xx: points.reduce((n, p) => n + p.result.non2xx, 0),
      errors: points.reduce((n, p) => n + p.result.errors, 0),
      statuses,
      ...(firstError ? { firstError } : {}),
      fewSamples:
        !points[0]!.paced && (spread(points.map((p) => p.result.completed))?.median ?? 0) < 10 * points[0]!.concurrency,
      late: points.reduce((n, p) => n + (p.result.late ?? 0), 0),
    };
  });
}

export function pointsTable(summaries: PointSummary[], embedded: boolean): string {
  const rows = summaries.map((s) => [
    s.scenario,
    String(s.concurrency),
    `${fmtSpread(s.rps)}${s.fewSamples ? ' !' : ''}`,
    fmt(s.p50),
    fmt(s.p99),
    fmt(s.tesseraCpuMs),
    s.scenario === 'hello' ? '' : embedded ? '(in Tessera)' : fmt(s.postgresCpuMs),
    fmt(s.rateRatio, '×'),
    fmt(s.cpuRatio, '×'),
    s.scenario === 'hello' ? '' : fmt(s.statements),
    String(s.non2xx),
    String(s.errors),
  ]);
  const behind = summaries
    .filter((s) => s.late > 0)
    .map(
      (s) =>
        `\n${s.scenario}: ${s.late} requests not sent on schedule (the server fell behind the pace: its p99 is not at the set rate)`,
    )
    .join('');
  const note = `${
    summaries.some((s) => s.fewSamples)
      ? '\n! fewer than 10 requests per connection completed (latency near the duration): CPU per request is overstated'
      : ''
  }${behind}`;
  return (
    table(
      [
        'scenario',
        'conc',
        'req/s median (min–max)',
        'p50 ms',
        'p99 ms',
        'CPU ms/op Tessera',
        'CPU ms/op PostgreSQL',
        'rate ×RS256',
        'CPU ×RS256',
        'statements/req',
        'non-2xx',
        'errors',
      ],
      rows,
    ) + note
  );
}

export function referencesLine(report: DbReport, argon2Cost: string): string {
  const rs = spread(report.references.map((r) => r.rs256.perSecond));
  const cpu = spread(report.references.map((r) => r.rs256.cpuMs));
  const lines = [`raw RS256 signing (node:crypto, one process): ${fmtSpread(rs, '/s')}, ${fmt(cpu)} ms CPU each`];
  const a2 = spread(report.references.map((r) => r.argon2?.perSecond ?? NaN));
  const a2cpu = spread(report.references.map((r) => r.argon2?.cpuMs ?? NaN));
  const inFlight = report.references.find((r) => r.argon2)?.argon2?.inFlight;
  if (a2)
    lines.push(
      `argon2id hashing (${argon2Cost}, ${inFlight} in flight, in this process): ${fmtSpread(a2, '/s')}, ${fmt(a2cpu)} ms CPU each`,
    );
  return lines.join('\n');
}

export interface TargetRow {
  name: string;
  goal: string;
  measured: Spread | undefined;
  unit: string;
  met: boolean | undefined;
}

/** The targets, each computed per run against that run's references, then the median. */
export function targets(report: DbReport, refConcurrency: number): TargetRow[] {
  const runs = report.references.map((r) => r.run);
  const perRun = (f: (run: number, refs: RunReferences) => number | undefined) =>
    spread(runs.map((run) => f(run, report.references.find((r) => r.run === run)!) ?? NaN));
  const at = (run: number, scenario: string, c?: number) =>
    report.points.filter((p) => p.run === run && p.scenario === scenario && (c === undefined || p.concurrency === c));
  const peak = (run: number, scenario: string) => Math.max(...at(run, scenario).map((p) => p.result.rps));
  const row = (
    name: string,
    goal: string,
    unit: string,
    measured: Spread | undefined,
    ok: (m: number) => boolean,
  ): TargetRow => ({ name, goal, unit, measured, met: measured ? ok(measured.median) : undefined });

  return [
    row(
      `CPU per refresh, Tessera + PostgreSQL (conc ${refConcurrency})`,
      '≤ 3× one RS256 signature',
      '×',
      perRun((run, refs) => {
        const p = at(run, 'refresh', refConcurrency)[0];
        return p ? ((p.tesseraCpuMs ?? NaN) + (p.postgresCpuMs ?? 0)) / refs.rs256.cpuMs : undefined;
      }),
      (m) => m <= 3,
    ),
    row(
      `refresh throughput (conc ${refConcurrency})`,
      '≥ 0.5× RS256 signing rate',
      '×',
      perRun((run, refs) => {
        const p = at(run, 'refresh', refConcurrency)[0];
        return p ? p.result.rps / refs.rs256.perSecond : undefined;
      }),
      (m) => m >= 0.5,
    ),
    row(
      'refresh p99 at half the peak rate',
      '< 10 ms',
      ' ms',
      perRun((run) => at(run, 'refresh@½peak')[0]?.result.p99),
      (m) => m < 10,
    ),
    row(
      '/auth/me throughput (peak)',
      '≥ 10,000/s',
      '/s',
      perRun((run) => (at(run, 'me').length ? peak(run, 'me') : undefined)),
      (m) => m >= 10_000,
    ),
    row(
      'JWKS throughput (peak) ÷ Fastify hello world (peak)',
      '≥ 0.7×',
      '×',
      perRun((run) =>
        at(run, 'jwks').length && at(run, 'hello').length ? peak(run, 'jwks') / peak(run, 'hello') : undefined,
      ),
      (m) => m >= 0.7,
    ),
    row(
      'login throughput (peak) ÷ argon2id hash rate',
      '≥ 0.9×',
      '×',
      perRun((run, refs) =>
        at(run, 'login').length && refs.argon2 ? peak(run, 'login') / refs.argon2.perSecond : undefined,
      ),
      (m) => m >= 0.9,
    ),
  ];
}

export function targetsTable(rows: TargetRow[]): string {
  return table(
    ['target', 'goal', 'measured median (min–max)', 'result'],
    rows.map((r) => [
      r.name,
      r.goal,
      fmtSpread(r.measured, r.unit),
      r.met === undefined ? 'not measured' : r.met ? 'met' : 'MISSED',
    ]),
  );
}
