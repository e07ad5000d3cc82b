// Fastify's server-level options that come from configuration: whose X-Forwarded-For to believe, and
// how long a slow client may hold a connection. Fastify's defaults leave the request and connection
// timeouts off, so a client trickling a body, or sending headers and going quiet, kept its connection
// (and its memory) for minutes; enough of them and nobody else gets served.
import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';

/**
 * Node checks the header and request deadlines of all connections on a timer (30 s by default),
 * so a 10 s deadline could last 40 s. Once a second is precise enough and costs a loop over sockets.
 */
const DEADLINE_CHECK_MS = 1000;

export type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean);

/**
 * Fastify 5 accepts a hop count but ignores it (it trusts no one, so every client has the proxy's
 * address). A trust function is what proxy-addr honours: the socket's peer is hop 0, then the
 * X-Forwarded-For entries from the right. Trusting N hops makes the (N+1)th address from the right the client.
 */
function trustProxyOption(trust: Config['trustProxy']): TrustProxy {
  if (typeof trust !== 'number') return trust;
  const hops = trust;
  return (_address, hop) => hop < hops;
}

export function serverOptions(config: Config) {
  const t = config.timeouts;
  return {
    trustProxy: trustProxyOption(config.trustProxy),
    // Headers and body, from the first byte: a request not complete by then is answered 408 and closed.
    requestTimeout: t.requestMs,
    // A socket with no traffic either way (a client that stops reading, or a handler that hangs).
    connectionTimeout: t.connectionMs,
    // Idle between requests on a kept-alive connection; longer than a load balancer's idle timeout.
    keepAliveTimeout: t.keepAliveMs,
    http: {
      headersTimeout: t.headersMs,
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
      // Refused by src/plugins/edge-errors.ts instead, in the catalog's shape.
      requireHostHeader: false,
    },
  } satisfies Partial<FastifyServerOptions> & { http: object };
}
