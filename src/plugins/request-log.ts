// One log line per request, after the response: method, path (no query string), status, time, and what the
// request came to when its route says (`request.outcome`: a refresh's ok, grace, reused…; a login's ok, failed…),
// set once by the route and read here and by the metrics (src/plugins/metrics.ts).
// Request ids (the caller's x-request-id when safe, else a UUID: src/http/request-id.ts) are returned in x-request-id.
//
// The request line is written by a child of the app's logger without redaction. Its fields are fixed here and
// none is secret (the path without its query string, the route's pattern, the status, the time, the address,
// the outcome, the ids), so no redaction path could match them; but pino walks every path of REDACTED_PATHS
// (src/app.ts) for every line, a fifth of a JWKS request's CPU at LOG_LEVEL=info. Writing the ids as fields
// (where the request's logger has them as bindings) gives the same line, and the request's own logger
// (src/http/request-logger.ts) is then not made for a request with nothing else to say. A request whose logger
// is its own (a route's log level, a level set for the request, a line already written) writes the line through
// it, as before. Any other line, and any field added here that could hold a secret, goes through request.log,
// which redacts; test/integration/request-id.test.ts holds the line's fields to this list.
import fp from 'fastify-plugin';
import type { FastifyBaseLogger } from 'fastify';
import { REQUEST_ID_LOG_LABEL, traceIdOf } from '../http/request-id.js';
import { untouchedRequestLogger } from '../http/request-logger.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What this request came to, set once by its route (or by the rate limit) for the log line and metrics. */
    outcome: string | null;
  }
}

export default fp(
  async (app) => {
    app.decorateRequest('outcome', null);
    // Callback-style hooks (here and in the other plugins every request passes): Fastify runs them without a
    // promise and its extra turns of the microtask queue, which /auth/me and JWKS would otherwise pay per hook.
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      done();
    });
    const lines: FastifyBaseLogger = app.log.child({}, { redact: [] });
    app.addHook('onResponse', (request, reply, done) => {
      const fields = {
        method: request.method,
        path: request.url.split('?', 1)[0],
        route: request.routeOptions.url,
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ip: request.ip,
        ...(request.outcome ? { outcome: request.outcome } : {}),
      };
      if (untouchedRequestLogger(request.log)) {
        const traceId = traceIdOf(request.raw);
        lines.info({ [REQUEST_ID_LOG_LABEL]: request.id, ...(traceId ? { traceId } : {}), ...fields }, 'request');
      } else request.log.info(fields, 'request');
      done();
    });
  },
  { name: 'tessera-request-log' },
);
