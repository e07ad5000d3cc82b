// The table that decides 503 (database fault) vs 500 (bug) vs a client that hung up. A client abort through a
// real socket (logged as a client abort, never as a database outage) waits real time: test/system/real-waits.test.ts.
import t from 'tap';
import { PrismaClientKnownRequestError, PrismaClientUnknownRequestError } from '@prisma/client/runtime/client';
import { classifyDatabaseError } from '../../src/db/unavailable.js';
import { migratedPglite, releasePglite } from '../pglite-pool.js';

const errno = (code: string, message = code) => Object.assign(new Error(message), { code, syscall: 'read' });
const pgError = (code: string, message: string) =>
  Object.assign(new Error(message), { name: 'error', code, severity: 'ERROR' });
const known = (cause: object) =>
  new PrismaClientKnownRequestError('Database error', {
    code: 'P2010',
    clientVersion: '7',
    meta: { driverAdapterError: cause },
  });
const adapter = (cause: object) => Object.assign(new Error('driver'), { name: 'DriverAdapterError', cause });

t.test('errors are classified by what they are and where they come from', async (t) => {
  const table: [string, unknown, ReturnType<typeof classifyDatabaseError>][] = [
    [
      'pg\'s "not queryable" after a connection error (issue 14\'s race)',
      new PrismaClientUnknownRequestError('Client has encountered a connection error and is not queryable', {
        clientVersion: '7',
      }),
      'unavailable',
    ],
    [
      'a bare "not queryable" Error thrown by pg',
      new Error('Client has encountered a connection error and is not queryable'),
      'unavailable',
    ],
    [
      'connection refused, through the adapter',
      known(adapter({ kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 })),
      'unavailable',
    ],
    ['connection reset, through Prisma', known(adapter(errno('ECONNRESET'))), 'unavailable'],
    [
      'server shutting down (57P01)',
      known(adapter({ kind: 'postgres', code: '57P01', originalCode: '57P01' })),
      'unavailable',
    ],
    ['database starting up (57P03)', pgError('57P03', 'the database system is starting up'), 'unavailable'],
    [
      'too many connections (53300)',
      known(adapter({ kind: 'TooManyConnections', originalCode: '53300' })),
      'unavailable',
    ],
    [
      'out of memory (53200)',
      known(adapter({ kind: 'postgres', code: '53200', originalCode: '53200' })),
      'unavailable',
    ],
    [
      'PostgreSQL disk full (53100)',
      known(adapter({ kind: 'postgres', code: '53100', originalCode: '53100', message: 'could not extend file' })),
      'disk_full',
    ],
    [
      'PGlite disk full (53100 DatabaseError)',
      pgError('53100', 'could not extend file "base/5/16385": No space left on device'),
      'disk_full',
    ],
    [
      'ENOSPC from the file system under the database',
      known(adapter(errno('ENOSPC', 'ENOSPC: no space left on device, write'))),
      'disk_full',
    ],
    [
      'pool timeout (P2024)',
      new PrismaClientKnownRequestError('Timed out fetching a new connection', { code: 'P2024', clientVersion: '7' }),
      'unavailable',
    ],
    ['PGlite closed', new Error('PGlite is closed'), 'unavailable'],
    [
      'a deadlock (40P01), through the adapter',
      known(adapter({ kind: 'TransactionWriteConflict', originalCode: '40P01' })),
      'conflict',
    ],
    ["pg's serialization failure (40001)", pgError('40001', 'could not serialize access'), 'conflict'],
    ['a rolled-back constraint (40002): not a conflict to retry', pgError('40002', 'transaction rollback'), undefined],
    [
      "Prisma's write conflict or deadlock (P2034)",
      new PrismaClientKnownRequestError('Transaction failed due to a write conflict or a deadlock', {
        code: 'P2034',
        clientVersion: '7',
      }),
      'conflict',
    ],
    ["a client socket's ECONNRESET (no database origin)", errno('ECONNRESET', 'aborted'), undefined],
    ["a client socket's EPIPE", errno('EPIPE'), undefined],
    [
      "Fastify's body errors",
      Object.assign(new Error('Request body size did not match Content-Length'), {
        code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
        cause: errno('ECONNRESET'),
      }),
      undefined,
    ],
    [
      'a unique-constraint violation (a conflict, not a fault)',
      known(adapter({ kind: 'UniqueConstraintViolation', originalCode: '23505' })),
      undefined,
    ],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')"), undefined],
    ['not an error', 'ECONNRESET', undefined],
  ];
  for (const [name, err, expected] of table) t.equal(classifyDatabaseError(err), expected, name);
});

t.test("a real PGlite's disk-full error is classified as disk full", async (t) => {
  // The exact object PGlite raises for SQLSTATE 53100 (seen on a full tmpfs), built by the real parser. A copy
  // of the migrated template (test/pglite-pool.ts) is a real PGlite without the seconds of a fresh initdb.
  const db = await migratedPglite();
  t.teardown(() => releasePglite(db));
  const err = await db
    .query(
      `DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'disk_full', MESSAGE = 'could not extend file: No space left on device'; END $$`,
    )
    .catch((e: unknown) => e);
  t.equal(classifyDatabaseError(err), 'disk_full', "PGlite's SQLSTATE 53100 error is classified as disk_full");
});
