// Refresh at a steady rate, for the latency a service sees when it is not saturated ("p99 at half the
// peak rate"). autocannon's rate limit lets each connection send its quota at the top of every second,
// which measures bursts, not a steady rate; so this schedules requests evenly itself (open loop: a
// request goes out on schedule whether or not earlier ones have come back), each on a session that is
// not in flight, over keep-alive connections. A session is one browser: its cookie is swapped for the
// one each response sets, as in the saturating scenario.
import { Agent, request } from 'node:http';
import type { LoadResult } from './load.js';
import type { Session, Target } from './scenarios.js';

export async function pacedRefresh(
  target: Target,
  sessions: Session[],
  rate: number,
  seconds: number,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: sessions.length });
  const url = new URL('/auth/refresh', target.base);
  const free = [...sessions];
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let late = 0;
  let firstError: string | undefined;
  const inFlight = new Set<Promise<void>>();

  const fire = (session: Session) => {
    const t0 = performance.now();
    const done = new Promise<void>((resolve) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: { origin: target.base, cookie: `${session.cookieName}=${session.cookie}` },
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const next = (res.headers['set-cookie'] ?? [])
              .map((c) => c.split(';', 1)[0]!)
              .find((c) => c.startsWith(`${session.cookieName}=`));
            if (next && next.length > session.cookieName.length + 1)
              session.cookie = next.slice(session.cookieName.length + 1);
            if (status >= 200 && status < 300) {
              ok++;
              latencies.push(performance.now() - t0);
              if (!next) fail('a 200 without a new refresh cookie');
            } else {
              statuses[status] = (statuses[status] ?? 0) + 1;
            }
            free.push(session);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        fail(err.message);
        free.push(session);
        resolve();
      });
      req.end();
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };
  const fail = (message: string) => {
    errors++;
    firstError ??= message;
  };

  const total = Math.max(1, Math.round(rate * seconds));
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    // Send everything whose time has come (timers are coarser than the interval at high rates).
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      const session = free.pop();
      if (session) fire(session);
      else late++; // every session has a request in flight: the server fell behind the pace
    }
    await new Promise((r) => setTimeout(r, Math.max(0, start + (sent * 1000) / rate - performance.now())));
  }
  await Promise.all(inFlight);
  agent.destroy();
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  const non2xx = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    completed: ok + non2xx,
    seconds: elapsed,
    rps: ok / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    non2xx,
    errors,
    statuses,
    ...(firstError ? { firstError } : {}),
    late,
  };
}
