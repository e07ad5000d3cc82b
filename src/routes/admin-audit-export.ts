// GET /admin/audit/export: the audit log as a file, so that a retention limit (AUDIT_RETENTION_DAYS) does not
// mean losing evidence. The same filters as GET /admin/audit (user, type, [from, to)), oldest rows last like
// the pages; NDJSON (one JSON object a line) or CSV. Streamed a page at a time from the database: memory stays
// flat however large the range. Registered inside /admin (src/routes/admin.ts), behind its caller check.
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../http/schemas.js';
import type { AuditFilter, AuditView, Directory } from '../domain/authz/directory.js';
import type { Services } from '../services.js';

const PAGE = 500;
const COLUMNS = [
  'id',
  'created_at',
  'type',
  'user_id',
  'session_id',
  'reason',
  'ip',
  'user_agent',
  'request_id',
] as const;

type Row = Record<(typeof COLUMNS)[number], string | null>;

/** An audit event on the wire, here and in GET /admin/audit's pages: snake_case like the rest of the API. */
export const auditEventOut = (e: AuditView): Row => ({
  id: e.id,
  created_at: e.createdAt.toISOString(),
  type: e.type,
  user_id: e.userId,
  session_id: e.sessionId,
  reason: e.reason,
  ip: e.ip,
  user_agent: e.userAgent,
  request_id: e.requestId,
});

/** RFC 4180: quote every field that needs it; a leading = + - @ is prefixed so a spreadsheet never runs it. */
function csvField(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

async function* lines(directory: Directory, filter: Omit<AuditFilter, 'limit' | 'cursor'>, format: 'ndjson' | 'csv') {
  // The header goes with the first page: the first chunk is only ready once the database has answered.
  let text = format === 'csv' ? `${COLUMNS.join(',')}\r\n` : '';
  let cursor: string | undefined;
  do {
    const page = await directory.audit({ ...filter, limit: PAGE, ...(cursor ? { cursor } : {}) });
    const rows = page.items.map(auditEventOut);
    text += rows
      .map((r) => (format === 'csv' ? `${COLUMNS.map((c) => csvField(r[c])).join(',')}\r\n` : `${JSON.stringify(r)}\n`))
      .join('');
    if (text) yield text;
    text = '';
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

const auditExportRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/audit/export',
    {
      schema: {
        summary: 'The audit log as NDJSON or CSV (newest first), filtered like /admin/audit, streamed',
        querystring: Type.Object(
          {
            user_id: Type.Optional(Type.String({ format: 'uuid' })),
            event_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
            format: Type.Optional(Type.Union([Type.Literal('ndjson'), Type.Literal('csv')])),
          },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'One event a line: NDJSON objects, or CSV with a header row',
            content: {
              'application/x-ndjson': { schema: Type.String() },
              'text/csv': { schema: Type.String() },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const format = q.format ?? 'ndjson';
      const filter = {
        ...(q.user_id ? { userId: q.user_id } : {}),
        ...(q.event_type ? { type: q.event_type } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
      };
      // The first page is read before the answer starts, so a database fault is still a 503, not a cut stream.
      const source = lines(services.directory, filter, format);
      const first = await source.next();
      async function* all() {
        if (!first.done) yield first.value;
        yield* source;
      }
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="audit.${format === 'csv' ? 'csv' : 'ndjson'}"`)
        .send(Readable.from(all()));
    },
  );
};

export default auditExportRoutes;
