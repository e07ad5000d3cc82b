// Request ids and trace ids from the caller, so one request can be followed through a proxy, Tessera and
// the services around it. An incoming `x-request-id` is kept when it is short and made of safe characters
// (it goes into logs, a response header and error bodies); anything else gets a fresh UUID, so a client
// can't write arbitrary text into the logs. A W3C `traceparent` (https://www.w3.org/TR/trace-context/)
// adds its trace id to every log line of the request; a malformed one is ignored, as the spec says.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The request id's key on every log line (Fastify's requestIdLogLabel). */
export const REQUEST_ID_LOG_LABEL = 'reqId';
const REQUEST_ID_MAX_LENGTH = 128;
const REQUEST_ID = new RegExp(`^[A-Za-z0-9._:@/+=-]{1,${REQUEST_ID_MAX_LENGTH}}$`);
// version (not ff) - trace-id (not all zeros) - parent-id (not all zeros) - flags; lowercase hex only.
const TRACEPARENT = /^(?!ff)([0-9a-f]{2})-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The id of this request: the caller's x-request-id when acceptable, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The trace id of a well-formed traceparent header, else undefined. Version 00 allows nothing after the flags. */
export function traceIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers.traceparent;
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m || (m[1] === '00' && m[5] !== undefined)) return undefined;
  return m[2];
}
