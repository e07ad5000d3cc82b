// Answers for requests that never reach a route: Node's own client errors (a request line or header it
// can't parse, headers over the size limit, a request that doesn't arrive in time), URLs Fastify can't
// decode, a missing Host, CONNECT. Fastify's and Node's defaults answer these in their own shape, without
// the security headers or a request id, quote the path back, and at trace level log the raw bytes
// (`rawPacket`: Authorization, cookies, bodies). Here they get the catalog's shape, the same headers as
// every other response, a request id, and a log line with the error code only.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import fp from 'fastify-plugin';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorCatalog, type ErrorCode } from '../errors.js';
import type { SecurityHeaders } from '../http/security-headers.js';
import { sendError, toAppError } from './error-handler.js';

/** Node's parser and timeout errors (https://nodejs.org/api/http.html#event-clienterror), as catalog codes. */
function clientErrorCode(nodeCode: string | undefined): ErrorCode {
  if (nodeCode === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  if (nodeCode === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  if (nodeCode === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 'payload_too_large';
  return 'invalid_request';
}

/** A whole HTTP/1.1 error response, for sockets no ServerResponse will ever answer. Nothing from the request is echoed. */
function rawErrorResponse(code: ErrorCode, requestId: string, headers: SecurityHeaders): string {
  const { status, message } = errorCatalog[code];
  const body = JSON.stringify({ status_code: status, code, message, request_id: requestId });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    `x-request-id: ${requestId}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

function refuseSocket(
  socket: Duplex,
  code: ErrorCode,
  headers: SecurityHeaders,
  log: FastifyBaseLogger,
  reason: string | undefined,
): void {
  const requestId = randomUUID();
  // The error's code only: the error itself carries the raw bytes received (rawPacket).
  log.info(
    { reqId: requestId, event: 'client_error', reason, statusCode: errorCatalog[code].status, code },
    'request refused',
  );
  // A response already under way can't be replaced (its headers are out): cut the connection, as Node does.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) socket.write(rawErrorResponse(code, requestId, headers));
  socket.destroy();
}

/** Fastify's `clientErrorHandler`: Node's client errors, answered on the raw socket. */
export function clientErrorHandler(headers: SecurityHeaders, log: () => FastifyBaseLogger) {
  return (err: Error & { code?: string }, socket: Duplex): void => {
    // The peer is gone: nobody to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    refuseSocket(socket, clientErrorCode(err.code), headers, log(), err.code);
  };
}

/** Fastify's `frameworkErrors`: bad URL encoding, over-long parameters. These requests skip every hook. */
export function frameworkErrorHandler(headers: SecurityHeaders) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const error = toAppError(err);
    // Not err.message: it quotes the path.
    request.log.info(
      { event: 'request_refused', reason: err.code, statusCode: error.statusCode, code: error.code },
      'request refused',
    );
    reply.headers(headers).header('x-request-id', request.id);
    void sendError(request, reply, error);
  };
}

export default fp<{ headers: SecurityHeaders }>(
  async (app, { headers }) => {
    // Node's own answer to a missing Host is a bare 400 (its option is turned off in src/http/server-options.ts).
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
        done(new AppError('invalid_request', { message: 'The Host header is required.', detail: 'no Host header' }));
        return;
      }
      done();
    });
    // An Expect other than 100-continue: Node would answer a bare 417. The expectation is optional
    // (RFC 9110 §10.1.1): handle the request as if it weren't there.
    app.server.on('checkExpectation', (req: IncomingMessage, res) => app.routing(req, res));
    // CONNECT is no request for an API; without a listener Node just drops the connection.
    app.server.on('connect', (_req: IncomingMessage, socket: Duplex) =>
      refuseSocket(socket, 'invalid_request', headers, app.log, 'CONNECT'),
    );
  },
  { name: 'tessera-edge-errors' },
);
