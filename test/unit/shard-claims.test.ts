// Unit tier: how the shards of one `npm test` run share out the files (test/shard-claims.ts): heaviest first, each
// file to exactly one shard, all of them handed out. (Several processes claiming at once:
// test/system/shard-claims.test.ts.)
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Claims, claimOrder } from '../shard-claims.js';

t.test('the claim order: heaviest first, equal weights by name', async (t) => {
  t.same(
    claimOrder(
      new Map([
        ['b', 1],
        ['a', 1],
        ['heavy', 9],
        ['middle', 4],
      ]),
    ),
    ['heavy', 'middle', 'a', 'b'],
  );
});

t.test('two shards asking in turn: each file to one of them, in order, none left over', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tessera-claims-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = ['f0', 'f1', 'f2', 'f3', 'f4'];
  const [one, two] = [new Claims(dir, files), new Claims(dir, files)];
  t.equal(one.next(), 'f0', 'the first asker gets the heaviest');
  t.equal(two.next(), 'f1', 'the second skips what the first holds');
  t.equal(two.next(), 'f2', 'and goes on');
  t.equal(one.next(), 'f3', 'the first skips what the second took meanwhile');
  t.equal(one.next(), 'f4', 'the last file');
  t.equal(two.next(), undefined, 'nothing is left');
  t.equal(one.next(), undefined, 'for either');
  t.equal(new Claims(dir, files).next(), undefined, 'a latecomer gets nothing either');
});

t.test('two lists that differ (a file added as the shards start): no file twice, none left out', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tessera-claims-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const one = new Claims(dir, ['heavy', 'b', 'c', 'd']);
  const two = new Claims(dir, ['heavy', 'new', 'b', 'c', 'd']);
  const ran: string[] = [];
  for (let a = one.next(), b = two.next(); a !== undefined || b !== undefined; a = one.next(), b = two.next())
    ran.push(...[a, b].filter((f) => f !== undefined));
  t.same([...ran].sort(), ['b', 'c', 'd', 'heavy', 'new'], 'each file once');
});

t.test('a claims folder that is not there fails loudly instead of handing nothing out', async (t) => {
  const claims = new Claims(path.join(tmpdir(), 'tessera-claims-missing', 'nowhere'), ['f0']);
  t.throws(() => claims.next(), { code: 'ENOENT' });
});
