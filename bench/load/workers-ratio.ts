// --compare-workers N: the same PostgreSQL points measured with WORKERS=1 and with WORKERS=N, one after the
// other in the same run (same machine, same database server, both with the private Redis), and the throughput
// of N workers as a ratio to one. /auth/me and JWKS are CPU-bound in Tessera, so N workers on N free cores should
// come near N× (the target on 2 cores: ≥ 1.6×); refresh shares the cores with PostgreSQL, so its ratio is
// reported, not targeted.
import { spread, summarize, table, type DbReport } from './report.js';

/** The scenarios whose ratio is reported, with its target (undefined: reported only). */
const COMPARED: Array<[string, number | undefined]> = [
  ['me', 1.6],
  ['jwks', 1.6],
  ['refresh', undefined],
];

const num = (x: number) => x.toFixed(2);

export function workersRatioTable(one: DbReport, many: DbReport, workers: number): string {
  const single = summarize(one);
  const multi = summarize(many);
  const rows: string[][] = [];
  for (const [scenario, target] of COMPARED) {
    for (const s of single.filter((p) => p.scenario === scenario)) {
      const m = multi.find((p) => p.scenario === scenario && p.concurrency === s.concurrency);
      if (!s.rps || !m?.rps) continue;
      // Run k of one against run k of the other: both ran in the same stretch of the benchmark.
      const ratios = spread(
        many.points
          .filter((p) => p.scenario === scenario && p.concurrency === s.concurrency)
          .map((p) => {
            const base = one.points.find(
              (q) => q.scenario === scenario && q.concurrency === s.concurrency && q.run === p.run,
            );
            return base ? p.result.rps / base.result.rps : Number.NaN;
          }),
      );
      const verdict =
        target === undefined || !ratios
          ? 'reported'
          : ratios.median >= target
            ? `met (≥ ${target}×)`
            : `missed (≥ ${target}×)`;
      rows.push([
        scenario,
        String(s.concurrency),
        s.rps.median.toFixed(0),
        m.rps.median.toFixed(0),
        ratios ? `${num(ratios.median)}× (${num(ratios.min)}–${num(ratios.max)})` : '—',
        verdict,
      ]);
    }
  }
  const header = ['scenario', 'c', 'req/s, WORKERS=1', `req/s, WORKERS=${workers}`, `${workers} ÷ 1`, 'target'];
  return table(header, rows);
}
