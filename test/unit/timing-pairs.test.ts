// Unit tier: the timing comparison the security timing tests share (test/timing.ts), fed with made-up
// durations: load that hits some pairs must not flip it, a real difference must not hide in it.
import t from 'tap';
import { comparePairs, MAX_ROUNDS, median, relativeGap } from '../timing.js';

/** A side whose n-th request takes durations(n) ms (no real waiting). */
function side(durations: (n: number) => number) {
  let n = 0;
  return async () => ({ res: null, ms: durations(n++) });
}
const settings = { warmup: 0, samples: 40, maxGap: 0.2 };

t.test('median and gap', async (t) => {
  t.equal(median([3, 1, 2]), 2, 'the middle value of an odd list');
  t.equal(median([4, 1, 3, 2]), 2.5, 'the mean of the two middle values of an even list');
  t.ok(Math.abs(relativeGap(1.2) - 0.2 / 1.2) < 1e-12, 'a is 20 % slower: gap relative to the larger side');
  t.equal(relativeGap(1 / 1.2), relativeGap(1.2), 'the gap is the same whichever side is slower');
});

t.test('equal sides under load that slows whole stretches of pairs: one round, ratio 1', async (t) => {
  // Every third pair runs while the machine is busy: both of its requests take 5 times as long.
  const busy = (n: number) => (Math.floor(n / 2) % 3 === 0 ? 35 : 7);
  const r = await comparePairs(side(busy), side(busy), settings);
  t.equal(r.ratio, 1, 'load that slows both requests of a pair cancels out of its ratio');
  t.equal(r.rounds, 1, 'so no second round is needed');
});

t.test('a burst that hits one side of a few pairs is outvoted by the median', async (t) => {
  const a = side((n) => (n % 5 === 0 ? 40 : 7)); // a fifth of a's requests caught by a GC
  const r = await comparePairs(
    a,
    side(() => 7),
    settings,
  );
  t.equal(r.ratio, 1, 'the median pair is unaffected');
});

t.test('a burst over a whole round on one side gets more rounds, and the pooled median decides', async (t) => {
  const a = side((n) => (n < 40 ? 12 : 7)); // the first round of a is slow, the rest is not
  const r = await comparePairs(
    a,
    side(() => 7),
    settings,
  );
  t.equal(r.rounds, 3, 'an out-of-bound first round asks for more pairs');
  t.equal(r.a.length, 120, 'every pair is kept, the first round included');
  t.ok(relativeGap(r.ratio) < settings.maxGap, 'the pooled median is within the bound');
});

t.test('a real difference is never measured away', async (t) => {
  const r = await comparePairs(
    side(() => 10),
    side(() => 7),
    settings,
  );
  t.equal(r.rounds, MAX_ROUNDS, 'it keeps measuring up to the last round');
  t.ok(relativeGap(r.ratio) >= settings.maxGap, 'and the gap still fails the bound, so the timing test fails');
});

t.test('the order of a pair alternates, so what the first request pays falls on both sides', async (t) => {
  const order: string[] = [];
  const named = (name: string) => async () => {
    order.push(name);
    return { res: null, ms: 1 };
  };
  const [a, b] = [named('a'), named('b')];
  await comparePairs(a, b, { warmup: 0, samples: 4, maxGap: 0.2 });
  t.same(order.join(''), 'abbaabba', 'a b, b a, a b, b a');
});
