// Statements per request, read from Tessera itself: /metrics counts the statements the process sent to its
// database (tessera_db_statements_total) and the requests it answered (http_requests_total). Both are read
// once Tessera is idle before and after a point, so requests still in flight when the load stopped are
// counted on both sides. Unlike throughput, this does not depend on the machine's speed: the CI smoke
// (test/system/bench-load.test.ts) asserts it. One process only: with WORKERS > 1 each scrape reaches one
// worker's counters, so it is not measured there.
interface Counts {
  statements: number;
  requests: number;
}

const STATEMENTS = /^tessera_db_statements_total (\d+(?:\.\d+)?(?:e\+\d+)?)$/m;
const REQUESTS = /^http_requests_total\{([^}]*)\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm;

/** The counts, or undefined for a Tessera without the statement counter (an older version being compared). */
export async function readCounts(base: string, token: string): Promise<Counts | undefined> {
  const res = await fetch(`${base}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const statements = STATEMENTS.exec(text);
  if (!statements) return undefined;
  let requests = 0;
  for (const m of text.matchAll(REQUESTS)) if (!m[1]!.includes('route="/metrics"')) requests += Number(m[2]);
  return { statements: Number(statements[1]), requests };
}

/** Statements per answered request between two readings; undefined when no request was answered. */
export function statementsPerRequest(before: Counts, after: Counts | undefined): number | undefined {
  if (!after) return undefined;
  const requests = after.requests - before.requests;
  return requests > 0 ? (after.statements - before.statements) / requests : undefined;
}
