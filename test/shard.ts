// The fast tiers (unit and integration) in a few processes instead of one per file: `npm test`.
//
// Each unit or integration file is a complete tap test that runs on its own (`npx tap test/integration/x.test.ts`,
// and so in `npm run test:all`). Run one by one, each file's process spends about three seconds before its first
// assertion: loading the app's modules, loading a migrated PGlite, warming the JIT. A shard imports its share of
// the files into one process, so the files' tests queue on one root and share that start-up, the module cache
// and the pool of recycled PGlite instances. The tests are the same ones, with the same assertions; only the
// process boundary between files goes. `npm run test:all` (what CI runs) still runs every file alone, so a test
// that passes only next to another, or only alone, fails one of the two runs.
//
// The shards are balanced by measured time (test/shard-times.ts), not by name: the slowest file goes first to
// the shard with the least work so far (longest processing time first), so both shards end at about the same
// time instead of one idling while the other still has minutes to run. A file without a measurement (a new
// one) is weighed by its size at the measured files' median seconds per byte, and joins a shard by itself.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { MEASURED_SECONDS } from './shard-times.js';

const TIERS = ['unit', 'integration'];

/** The fast tiers' files, as paths from test/. */
function fastFiles(): string[] {
  return TIERS.flatMap((tier) =>
    readdirSync(new URL(`./${tier}/`, import.meta.url))
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => `${tier}/${name}`),
  ).sort();
}

/** Each file's expected seconds: measured, or estimated from its size. */
export function weigh(files: { file: string; bytes: number }[], measured: Record<string, number>): Map<string, number> {
  const rates = files.filter((f) => measured[f.file] !== undefined).map((f) => measured[f.file]! / f.bytes);
  rates.sort((x, y) => x - y);
  const rate = rates.length ? rates[rates.length >> 1]! : 1;
  return new Map(files.map((f) => [f.file, measured[f.file] ?? f.bytes * rate]));
}

/** Splits files into `count` shards of about equal total weight: heaviest first, each to the lightest shard. */
export function balance(weights: Map<string, number>, count: number): string[][] {
  const shards = Array.from({ length: count }, () => ({ files: [] as string[], total: 0 }));
  const heaviestFirst = [...weights].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  for (const [file, seconds] of heaviestFirst) {
    const lightest = shards.reduce((min, s) => (s.total < min.total ? s : min));
    lightest.files.push(file);
    lightest.total += seconds;
  }
  return shards.map((s) => s.files.sort());
}

/** Every fast-tier file (path from test/) with its expected seconds. */
export function fastWeights(): Map<string, number> {
  const files = fastFiles().map((file) => ({ file, bytes: statSync(new URL(`./${file}`, import.meta.url)).size }));
  return weigh(files, MEASURED_SECONDS);
}

/** The files of shard `index` (from 0) of `count`, as paths from test/. */
export function shardFiles(index: number, count: number): string[] {
  return balance(fastWeights(), count)[index]!;
}

/** Root subtests, by the file that added them. */
const owners = new WeakMap<object, string>();

/**
 * Imports the shard's files in turn: each one's tests queue on this process's root test, and run in order.
 *
 * Each file keeps the time limit it has when run alone (tap's per-file `timeout`, TAP_TIMEOUT in the child): the
 * root's timer restarts when a file's first test starts, so a shard on a busy machine isn't cut off for the
 * sum of its files' time, while one hung file still fails within its own limit.
 *
 * With SHARD_TIMES_DIR set, the CPU seconds (user + system) each file cost, its import included, are written as
 * JSON to `shard-<n>-of-<count>.json` in that folder when the process exits: what `npm run test:times` writes
 * into test/shard-times.ts. Root subtests run one at a time, so the CPU between two of them events belongs to
 * the file whose test started or ended.
 */
export async function runShard(index: number, count: number): Promise<void> {
  const limit = Number(process.env.TAP_TIMEOUT ?? 30) * 1000;
  const seconds: Record<string, number> = {};
  let last = process.cpuUsage();
  let current: string | undefined;
  const charge = (file: string | undefined) => {
    const used = process.cpuUsage(last);
    last = process.cpuUsage();
    if (file) seconds[file] = (seconds[file] ?? 0) + (used.user + used.system) / 1e6;
  };
  t.on('subtestStart', (sub: object) => {
    const file = owners.get(sub);
    charge(file);
    if (file !== undefined && file !== current) {
      current = file;
      if (limit > 0) t.setTimeout(limit);
    }
  });
  t.on('subtestEnd', (sub: object) => charge(owners.get(sub)));

  // A root subtest belongs to the file being imported when it is added (or, added later, to the file before).
  let importing: string | undefined;
  const push = t.subtests.push;
  t.subtests.push = function (this: typeof t.subtests, ...added) {
    for (const sub of added) if (importing !== undefined && !owners.has(sub)) owners.set(sub, importing);
    return push.apply(this, added);
  };

  const files = shardFiles(index, count);
  for (const file of files) {
    importing = file;
    t.comment(`test/${file}`);
    await import(new URL(`./${file}`, import.meta.url).href);
  }
  // tap ends an idle root: were a file's import ever slow enough for the queue to run dry, the files after it
  // would be dropped without a word. Say so and fail instead.
  if (t.results) {
    process.exitCode = 1;
    console.error(`shard ${index + 1} of ${count}: the root test ended before every file was imported`);
  }
  const out = process.env.SHARD_TIMES_DIR;
  if (out) {
    process.once('exit', () => {
      const rounded = Object.fromEntries(Object.entries(seconds).map(([f, s]) => [f, Math.round(s * 100) / 100]));
      writeFileSync(path.join(out, `shard-${index + 1}-of-${count}.json`), `${JSON.stringify(rounded, null, 2)}\n`);
    });
  }
}
