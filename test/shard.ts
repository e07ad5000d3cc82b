// The fast tiers (unit and integration) in a few processes instead of one per file: `npm test`.
//
// Each unit or integration file is a complete tap test that runs on its own (`npx tap test/integration/x.test.ts`,
// and so in `npm run test:all`). Run one by one, each file's process spends about three seconds before its first
// assertion: loading the app's modules, loading a migrated PGlite, warming the JIT. A shard imports its share of
// the files into one process, so the files' tests queue on one root and share that start-up, the module cache
// and the pool of recycled PGlite instances. The tests are the same ones, with the same assertions; only the
// process boundary between files goes. `npm run test:all` (what CI runs) still runs every file alone, so a test
// that passes only next to another, or only alone, fails one of the two runs.
import { readdirSync } from 'node:fs';
import t from 'tap';

const TIERS = ['unit', 'integration'];

/** The files of shard `index` (from 0) of `count`, as paths from test/: every count-th file in path order. */
export function shardFiles(index: number, count: number): string[] {
  return TIERS.flatMap((tier) =>
    readdirSync(new URL(`./${tier}/`, import.meta.url))
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => `${tier}/${name}`),
  )
    .sort()
    .filter((_, i) => i % count === index);
}

/** Imports the shard's files in turn: each one's tests queue on this process's root test. */
export async function runShard(index: number, count: number): Promise<void> {
  for (const file of shardFiles(index, count)) {
    t.comment(`test/${file}`);
    await import(new URL(`./${file}`, import.meta.url).href);
  }
}
