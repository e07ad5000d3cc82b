// Tells a database fault (connection refused or dropped, server restarting, pool exhausted, disk full; or a
// transaction PostgreSQL ended as a deadlock or a serialization failure, which a retry clears) from a bug, so the
// HTTP layer answers 503 "try again" instead of 500, and from a client that hung up,
// so a client's ECONNRESET is never reported as a database outage. Classification goes by origin:
// socket error codes count only when they reach us through the database driver (Prisma or pg);
// SQLSTATEs and the drivers' own messages speak for themselves.

export type DatabaseFault = 'unavailable' | 'disk_full' | 'conflict';

const NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ECONNABORTED',
]);
const ADAPTER_KINDS = new Set([
  'ConnectionClosed',
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionAlreadyClosed',
  'TlsConnectionError',
  'AuthenticationFailed',
  'DatabaseAccessDenied',
]);
// SQLSTATE: connection exceptions (08xxx), insufficient resources (53xxx: 53100 disk full, 53200 out of
// memory, 53300 too many connections), a statement cancelled by statement_timeout (57014), server shutting
// down or crashed (57P01-03), system errors (58xxx:
// I/O errors), object not in prerequisite state (55000: database not accepting connections), no such database.
const SQLSTATES = /^(08\w{3}|53\w{3}|57014|57P0[123]|58\w{3}|55000|3D000)$/;
const DISK_FULL_SQLSTATE = '53100';
const PRISMA_CODES = /^(P10\d\d|P2024|P2028)$/;
// A transaction ended so that another could go on: serialization failure (40001), deadlock (40P01); Prisma's
// P2034 and the adapters' TransactionWriteConflict say the same. Nothing was written; the request can be retried.
const CONFLICT_CODES = /^(40001|40P01|P2034)$/;
const CONFLICT_KINDS = new Set(['TransactionWriteConflict']);
const MESSAGES =
  /PGlite is closed|Connection terminated|connection (is )?closed|Can't reach database|Cannot use a pool after calling end|is not queryable|Client was closed|terminating connection|the database system is (starting up|shutting down|in recovery mode)|timeout exceeded when trying to connect|Query read timeout|database ping timed out/i;
const DISK_FULL = /No space left on device|ENOSPC|could not extend file|disk full/i;

type Loose = {
  name?: unknown;
  code?: unknown;
  kind?: unknown;
  originalCode?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
};

/** Whether an error object was made by the database layer (Prisma, a driver adapter, pg's server errors). */
function fromDatabase(e: Loose): boolean {
  const name = typeof e.name === 'string' ? e.name : '';
  if (/^Prisma|DriverAdapterError|DatabaseDriverError/.test(name)) return true;
  if (typeof e.kind === 'string') return true;
  // pg's and PGlite's DatabaseError: a SQLSTATE plus a severity.
  return (
    typeof (e as { severity?: unknown }).severity === 'string' && typeof e.code === 'string' && /^\w{5}$/.test(e.code)
  );
}

/**
 * 'disk_full', 'unavailable', 'conflict', or undefined (not a database fault: a bug, a client abort, a unique violation…).
 * Errors Fastify raises about the request (FST_*) and bare socket errors never count: they come from the client.
 */
export function classifyDatabaseError(err: unknown): DatabaseFault | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const code = (err as Loose).code;
  if (typeof code === 'string' && code.startsWith('FST_')) return undefined;
  return walk(err, false, 0);
}

function walk(err: unknown, viaDatabase: boolean, depth: number): DatabaseFault | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as Loose;
  const db = viaDatabase || fromDatabase(e);
  const codes = [e.code, e.originalCode].filter((c): c is string => typeof c === 'string');
  const message = String(e.message ?? '');
  if (codes.includes(DISK_FULL_SQLSTATE) || codes.includes('ENOSPC') || (db && DISK_FULL.test(message)))
    return 'disk_full';
  if (codes.some((c) => CONFLICT_CODES.test(c)) || (typeof e.kind === 'string' && CONFLICT_KINDS.has(e.kind)))
    return 'conflict';
  const nested = walk(e.meta?.driverAdapterError, db, depth + 1) ?? walk(e.cause, db, depth + 1);
  if (nested === 'disk_full' || nested === 'conflict') return nested;
  if (codes.some((c) => SQLSTATES.test(c) || PRISMA_CODES.test(c) || (db && NODE_CODES.has(c)))) return 'unavailable';
  if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return 'unavailable';
  if (MESSAGES.test(message)) return 'unavailable';
  return nested;
}
