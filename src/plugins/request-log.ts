// One log line per request, after the response: method, path (no query string), status, time, and what the
// request came to when its route says (`request.outcome`: a refresh's ok, grace, reused…; a login's ok, failed…),
// set once by the route and read here and by the metrics (src/plugins/metrics.ts).
// Request ids (the caller's x-request-id when safe, else a UUID: src/http/request-id.ts) are returned in x-request-id.
import fp from 'fastify-plugin';

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
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        {
          method: request.method,
          path: request.url.split('?', 1)[0],
          route: request.routeOptions.url,
          statusCode: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          ip: request.ip,
          ...(request.outcome ? { outcome: request.outcome } : {}),
        },
        'request',
      );
      done();
    });
  },
  { name: 'tessera-request-log' },
);
