// Tells a database outage (connection refused, dropped, pool exhausted, server shutting down)
// from a bug, so the HTTP layer can answer 503 "try again" instead of 500.

const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
const ADAPTER_KINDS = new Set([
  'ConnectionClosed', 'DatabaseNotReachable', 'DatabaseDoesNotExist', 'SocketTimeout', 'TooManyConnections',
  'TransactionAlreadyClosed', 'TlsConnectionError', 'AuthenticationFailed', 'DatabaseAccessDenied',
]);
// SQLSTATE: connection exceptions (08xxx), server shutting down (57P01-03), too many connections,
// database not accepting connections, database does not exist.
const SQLSTATES = /^(08\w{3}|57P0[123]|53300|55000|3D000)$/;
const PRISMA_CODES = /^(P10\d\d|P2024|P2028)$/;
const MESSAGES = /PGlite is closed|Connection terminated|connection (is )?closed|Can't reach database|Cannot use a pool after calling end/i;

type Loose = { code?: unknown; kind?: unknown; message?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } };

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as Loose;
  const code = typeof e.code === 'string' ? e.code : '';
  if (NODE_CODES.has(code) || SQLSTATES.test(code) || PRISMA_CODES.test(code)) return true;
  if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
  if (MESSAGES.test(String(e.message ?? ''))) return true;
  return isDatabaseUnavailable(e.meta?.driverAdapterError, depth + 1) || isDatabaseUnavailable(e.cause, depth + 1);
}
