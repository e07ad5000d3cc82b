// `npm run test:times`: measures what each fast-tier file costs and rewrites test/shard-times.ts, which
// test/shard.ts balances `npm test`'s shards by.
//
// It runs `npm test`'s shards with SHARD_TIMES_DIR set: each shard process adds up how long each file's tests ran
// (wall time, each root test from start to end), both shards running as in `npm test`. Wall, not CPU: a file's
// waits (a mail server's greeting, a real timer) keep its shard from ending as surely as its CPU does; balanced
// by CPU alone, one shard ended 10 s after the other. Run it on a quiet machine: on a busy one every figure
// stretches, the CPU-bound ones most. Extra arguments go to tap (e.g. `npm run test:times -- --timeout=900`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-shard-times-'));
try {
  // In a terminal, tap's terse reporter, as `npm test` uses there: the default one costs the runner seconds of CPU the
  // shards being measured would otherwise have.
  const reporter = process.stdout.isTTY ? ['--reporter=terse'] : [];
  const run = spawnSync('npx', ['tap', ...reporter, 'test/shards/*.test.ts', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, SHARD_TIMES_DIR: dir },
  });
  if (run.status !== 0) {
    console.error('npm test failed: test/shard-times.ts is left as it was');
    process.exit(1);
  }
  const seconds: Record<string, number> = {};
  const totals: number[] = [];
  for (const name of readdirSync(dir).sort()) {
    const shard = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Record<string, number>;
    Object.assign(seconds, shard);
    totals.push(Object.values(shard).reduce((sum, s) => sum + s, 0));
  }
  const lines = Object.keys(seconds)
    .sort()
    .map((file) => `  '${file}': ${Math.round(seconds[file]! * 100) / 100},`);
  writeFileSync(
    new URL('./shard-times.ts', import.meta.url),
    `// Seconds each fast-tier file's tests run in a shard process of \`npm test\` (wall time, both shards running):
// what test/shard.ts balances the shards by. Written by \`npm run test:times\` (test/measure-shards.ts); run it
// again after adding files or changing a slow one. A file missing here is weighed by its size.
export const MEASURED_SECONDS: Record<string, number> = {
${lines.join('\n')}
};
`,
  );
  const slowest = Object.entries(seconds)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 10);
  console.log(`seconds per shard: ${totals.map((s) => s.toFixed(1)).join(', ')}`);
  console.log('slowest files (seconds):');
  for (const [file, s] of slowest) console.log(`  ${s.toFixed(2).padStart(7)}  test/${file}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
