// Unit tier: how `npm test` splits the fast tiers between its two processes (test/shard.ts): by measured time,
// so neither shard runs minutes after the other has finished; every file in exactly one shard.
import t from 'tap';
import { balance, fastWeights, shardFiles, weigh } from '../shard.js';

t.test('heaviest first, each to the lightest shard: the totals differ by at most the heaviest file', async (t) => {
  const weights = new Map([
    ['a', 10],
    ['b', 9],
    ['c', 8],
    ['d', 2],
    ['e', 1],
  ]);
  const shards = balance(weights, 2);
  t.same(
    shards,
    [
      ['a', 'd', 'e'],
      ['b', 'c'],
    ],
    'a with the two small ones, b with c: 13 against 17',
  );
  const totals = shards.map((s) => s.reduce((sum, f) => sum + weights.get(f)!, 0));
  t.ok(Math.abs(totals[0]! - totals[1]!) <= 10, 'the difference is within the heaviest file');
});

t.test('a file without a measurement is weighed by its size at the median measured rate', async (t) => {
  const weights = weigh(
    [
      { file: 'measured-1', bytes: 1000 },
      { file: 'measured-2', bytes: 2000 },
      { file: 'measured-3', bytes: 1000 },
      { file: 'new', bytes: 4000 },
    ],
    { 'measured-1': 10, 'measured-2': 40, 'measured-3': 30 },
  );
  t.equal(weights.get('measured-2'), 40, 'a measured file keeps its measurement');
  t.equal(weights.get('new'), 80, 'a new file: 4000 bytes at the median 0.02 s per byte');
});

t.test(
  'the real split: every fast file in exactly one shard, and the shards within a heavy file of each other',
  async (t) => {
    const [first, second] = [shardFiles(0, 2), shardFiles(1, 2)];
    const all = [...first, ...second];
    t.equal(new Set(all).size, all.length, 'no file runs in both shards');
    t.ok(all.includes('unit/shard-balance.test.ts'), 'this file is in a shard, with no list to update');
    t.ok(all.includes('integration/login-timing.test.ts'), 'the integration tier is split too');
    const weights = fastWeights();
    const measured = (files: string[]) => files.reduce((sum, f) => sum + weights.get(f)!, 0);
    const heaviest = Math.max(...weights.values());
    t.ok(
      Math.abs(measured(first) - measured(second)) <= heaviest,
      `expected seconds per shard (${measured(first).toFixed(0)} and ${measured(second).toFixed(0)}) differ by less than the heaviest file`,
    );
  },
);
