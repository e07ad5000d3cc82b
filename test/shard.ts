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
// The shards share the files out as they go (test/shard-claims.ts): heaviest first by measured time
// (test/shard-times.ts), each file to the first shard that asks, so both end within a light file of each other
// instead of one idling while the other still runs. A file without a measurement (a new one) is weighed by its
// size at the measured files' median seconds per byte. A shard started outside tap's runner (`node
// test/shards/fast-1-of-2.test.ts`) runs its share of a split fixed in advance by the same weights (longest
// processing time first, each file to the shard with the least work so far).
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { claimOrder, claimsOfThisRun } from './shard-claims.js';
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
  for (const file of claimOrder(weights)) {
    const lightest = shards.reduce((min, s) => (s.total < min.total ? s : min));
    lightest.files.push(file);
    lightest.total += weights.get(file)!;
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

/** A fixed list handed out in order. */
function listed(files: string[]): () => string | undefined {
  let at = 0;
  return () => files[at++];
}

/** Expected seconds of tests a shard keeps imported beyond the one running. */
const LOOKAHEAD_SECONDS = 3;

/** Root subtests, by the file that added them. */
const owners = new WeakMap<object, string>();

/**
 * Imports the shard's files in turn, claimed as it goes: each one's tests queue on this process's root test, and
 * run in order. A shard that ends before every file is claimed, or whose root ends first, fails and says so.
 *
 * Each file keeps the time limit it has when run alone (tap's per-file `timeout`, TAP_TIMEOUT in the child): the
 * root's timer restarts when a file's first test starts, so a shard on a busy machine isn't cut off for the
 * sum of its files' time, while one hung file still fails within its own limit.
 *
 * With SHARD_TIMES_DIR set, the seconds each file's tests ran (each root subtest from its start to its end) are
 * written as JSON to `shard-<n>-of-<count>.json` in that folder when the process exits: what `npm run test:times`
 * writes into test/shard-times.ts. Root subtests run one at a time, so each interval belongs to one file. (An
 * earlier version charged the CPU between any two root events to the file of the second: what a file left
 * running after its tests, and the next files' imports, moved seconds between files from run to run.)
 */
export async function runShard(index: number, count: number): Promise<void> {
  const limit = Number(process.env.TAP_TIMEOUT ?? 30) * 1000;
  const seconds: Record<string, number> = {};
  const startedAt = new WeakMap<object, number>();
  let current: string | undefined;
  // A root subtest belongs to the file being imported when it is added (or, added later, to the last file imported).
  let importing: string | undefined;
  const added = new Set<string>();
  const push = t.subtests.push;
  t.subtests.push = function (this: typeof t.subtests, ...subs) {
    for (const sub of subs)
      if (importing !== undefined && !owners.has(sub)) {
        owners.set(sub, importing);
        added.add(importing);
      }
    return push.apply(this, subs);
  };

  // Files are imported a few seconds of expected work ahead of the test running: enough that the root's queue
  // never runs dry while the next file loads, few enough that the other shard can still claim the rest.
  const weights = fastWeights();
  const claims = claimsOfThisRun(count, claimOrder(weights));
  const next = claims ? () => claims.next() : listed(shardFiles(index, count));
  let ahead = 0;
  // Imported files whose tests have not started yet, in import order (root subtests run in the order added), and
  // the files whose tests have (a file's first test may start while it is still being imported).
  const waiting: string[] = [];
  const started = new Set<string>();
  let pumping = false;
  let exhausted = false;
  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (!exhausted && ahead < LOOKAHEAD_SECONDS) {
        const file = next();
        if (file === undefined) {
          exhausted = true;
          // tap ends an idle root: were a file's import ever slow enough for the queue to run dry, the files
          // after it would be dropped without a word. Say so and fail instead.
          if (t.results) {
            process.exitCode = 1;
            console.error(`shard ${index + 1} of ${count}: the root test ended before every file was imported`);
          }
          break;
        }
        importing = file;
        t.comment(`test/${file}`);
        await import(new URL(`./${file}`, import.meta.url).href);
        if (added.has(file) && !started.has(file)) {
          ahead += weights.get(file) ?? 0;
          waiting.push(file);
        }
      }
    } finally {
      pumping = false;
    }
  };
  // An import that fails stops the process, as a failed static import would.
  const pumpOrThrow = () =>
    pump().catch((error: unknown) =>
      process.nextTick(() => {
        throw error;
      }),
    );
  t.on('subtestStart', (sub: object) => {
    startedAt.set(sub, performance.now());
    const file = owners.get(sub);
    if (file !== undefined) {
      if (file !== current) {
        current = file;
        if (limit > 0) t.setTimeout(limit);
      }
      started.add(file);
      // A waiting file's first test: it and every file imported before it are under way.
      if (waiting.includes(file))
        for (let under = waiting.shift(); under !== undefined; under = waiting.shift()) {
          ahead -= weights.get(under) ?? 0;
          if (under === file) break;
        }
    }
    void pumpOrThrow();
  });
  t.on('subtestEnd', (sub: object) => {
    const file = owners.get(sub);
    const at = startedAt.get(sub);
    if (file !== undefined && at !== undefined) seconds[file] = (seconds[file] ?? 0) + (performance.now() - at) / 1e3;
    // Asked again at every test's end too: the look-ahead never waits on one event alone.
    void pumpOrThrow();
  });
  process.once('exit', () => {
    if (exhausted) return;
    process.exitCode = 1;
    console.error(`shard ${index + 1} of ${count}: the process ended before every file was imported`);
  });
  await pump();
  const out = process.env.SHARD_TIMES_DIR;
  if (out) {
    process.once('exit', () => {
      const rounded = Object.fromEntries(Object.entries(seconds).map(([f, s]) => [f, Math.round(s * 100) / 100]));
      writeFileSync(path.join(out, `shard-${index + 1}-of-${count}.json`), `${JSON.stringify(rounded, null, 2)}\n`);
    });
  }
}
