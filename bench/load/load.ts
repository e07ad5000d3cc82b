// One load point: autocannon against a listening server for a fixed time at a fixed concurrency,
// with the CPU the server's processes spent on it. Latencies are taken from autocannon's per-response
// events (hrtime, fractions of a millisecond), not its whole-millisecond histogram.
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  connections: number;
  seconds: number;
  /** Stop after this many requests instead of after `seconds`: a scenario whose requests spend single-use
   * inputs (device codes, authorization codes) runs a batch. */
  amount?: number;
  /** The request every connection repeats, unless setupClient gives the connection its own. */
  request: autocannon.Request;
  setupClient?: (client: autocannon.Client) => void;
  /** Counts protocol violations the status code doesn't show (e.g. a 200 without a new cookie). */
  violations?: () => number;
}

export interface LoadResult {
  /** Responses received (any status). */
  completed: number;
  seconds: number;
  /** 2xx responses per second. */
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** Connection errors, timeouts, and protocol violations. */
  errors: number;
  /** Status code → count, for any non-2xx. */
  statuses: Record<string, number>;
  firstError?: string;
  /**
   * Paced points only: requests not sent on schedule because every session had one in flight (the server fell
   * behind the pace). It depends on the machine's speed and what else runs: reported, not counted as a failure.
   */
  late?: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  let firstError: string | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        ...(spec.amount ? { amount: spec.amount } : { duration: spec.seconds }),
        pipelining: 1,
        timeout: 10,
        requests: [spec.request],
        ...(spec.setupClient ? { setupClient: spec.setupClient } : {}),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
    instance.on('reqError', (err) => {
      firstError ??= String((err as Error)?.message ?? err);
    });
  });
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {}))
    if (!code.startsWith('2')) statuses[code] = count ?? 0;
  const violations = spec.violations?.() ?? 0;
  return {
    completed: result.requests.total,
    seconds: result.duration,
    rps: result['2xx'] / result.duration,
    p50: pct(0.5),
    p99: pct(0.99),
    non2xx: result.non2xx,
    errors: result.errors + violations,
    statuses,
    ...(firstError ? { firstError } : violations ? { firstError: `${violations} responses broke the protocol` } : {}),
  };
}
