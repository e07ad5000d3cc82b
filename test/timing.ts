// The one way the tests compare the time of two requests that must take the same time (an unknown user and a
// known one: login-timing, mail-forgot-timing). Load from elsewhere (another test process, other work on the
// machine, a GC) must not flip the answer, so:
//   - requests are compared in pairs measured back to back, and the answer is the median of the pairs' ratios:
//     a burst slows both requests of a pair alike, or one pair only, and the median ignores a minority of
//     pairs hit unevenly;
//   - the order alternates (a b, then b a): whatever the first request of a pair pays (a timer, a GC after
//     the previous pair) falls on both sides equally instead of on one;
//   - when the first round's median is outside the bound, more rounds are measured and the median is taken
//     over every pair so far (the first round's included), up to MAX_ROUNDS: a real difference stays in the
//     pooled median, a burst that hit one round is outvoted.
export const MAX_ROUNDS = 3;

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** How far a ratio is from 1, relative to the larger side: 0.2 means one side takes 20 % longer. */
export const relativeGap = (ratio: number) => Math.abs(ratio - 1) / Math.max(ratio, 1);

export interface Timed<R> {
  res: R;
  ms: number;
}

export interface PairResult<R> {
  a: Timed<R>[];
  b: Timed<R>[];
  /** Median over the pairs of a's time / b's time. */
  ratio: number;
  rounds: number;
}

/**
 * Measures `samples` back-to-back pairs of `a` and `b` (after `warmup` discarded pairs), alternating their
 * order, and more rounds while the median ratio is `maxGap` or more from 1.
 */
export async function comparePairs<R>(
  a: () => Promise<Timed<R>>,
  b: () => Promise<Timed<R>>,
  { warmup, samples, maxGap }: { warmup: number; samples: number; maxGap: number },
): Promise<PairResult<R>> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const as: Timed<R>[] = [];
  const bs: Timed<R>[] = [];
  let rounds = 0;
  let ratio = Number.NaN;
  do {
    rounds++;
    for (let i = 0; i < samples; i++) {
      if (i % 2 === 0) {
        as.push(await a());
        bs.push(await b());
      } else {
        bs.push(await b());
        as.push(await a());
      }
    }
    ratio = median(as.map((s, i) => s.ms / bs[i]!.ms));
  } while (relativeGap(ratio) >= maxGap && rounds < MAX_ROUNDS);
  return { a: as, b: bs, ratio, rounds };
}
