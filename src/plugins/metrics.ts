// Prometheus metrics (prom-client), one registry per app. Collection is always on and cheap: one hook
// per response does a Map lookup for its pre-bound label set and two increments; the refresh hot path
// adds nothing else. Gauges (key age, database pool, password hashes) are computed only when scraped.
// Exposure is opt-in: with METRICS_TOKEN set, GET /metrics answers a scraper that presents it as a
// Bearer token (compared in constant time); without it the route doesn't exist. Not in the OpenAPI
// document: it is for operators, not clients.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AppError } from '../errors.js';
import { classifyDatabaseError } from '../db/unavailable.js';
import type { Services } from '../services.js';
import type { Database } from '../db/open.js';
import { noStore } from '../http/no-store.js';
import { hashesInFlight } from '../domain/accounts/hash-slots.js';

const METRICS_PATH = '/metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The outcome counter this route feeds with `request.outcome` (src/plugins/request-log.ts). */
    outcomeMetric?: 'refresh' | 'login';
  }
}

interface TesseraMetrics {
  registry: Registry;
  keyReloads: Counter<'outcome'>;
  /** Webhook delivery attempts by result (delivered, retry, given_up), and how long each took. */
  webhookDeliveries: Counter<'result'>;
  webhookDuration: Histogram;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

function makeMetrics(services: Services, database: Database | undefined) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['method', 'route', 'status_code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by route pattern and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const refreshes = new Counter({
    name: 'tessera_refresh_total',
    help: 'Refresh attempts by outcome: ok, grace, reused, expired, revoked, invalid, rate_limited, error',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const logins = new Counter({
    name: 'tessera_login_total',
    help: 'Login attempts by outcome: ok, failed, throttled, error',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'tessera_rate_limited_total',
    help: 'Requests refused with 429, by route pattern',
    labelNames: ['route'],
    registers: [registry],
  });
  const dbErrors = new Counter({
    name: 'tessera_database_errors_total',
    help: 'Requests that failed because the database was unavailable or full, or ended their transaction (deadlock)',
    labelNames: ['fault'],
    registers: [registry],
  });
  const keyReloads = new Counter({
    name: 'tessera_key_reloads_total',
    help: 'Re-reads of KEYS_DIR by outcome (ok, failed)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'tessera_signing_key_age_seconds',
    help: 'Seconds since the active signing key started signing',
    registers: [registry],
    collect() {
      const { schedule } = services.keys.signing;
      const since = schedule.activatesAt ?? schedule.createdAt;
      this.set(Math.max(0, (services.clock.now().getTime() - since.getTime()) / 1000));
    },
  });
  if (database) {
    const statements = database.statements;
    new Counter({
      name: 'tessera_db_statements_total',
      help: 'Statements sent to the database by this process (Prisma and the raw hot-path ones; BEGIN/COMMIT count)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(statements.value);
      },
    });
  }
  new Gauge({
    name: 'tessera_password_hashes',
    help: 'argon2id hashes and verifications of this process by state (running: at most its share of the cores; waiting for a slot)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { running, waiting } = hashesInFlight();
      this.set({ state: 'running' }, running);
      this.set({ state: 'waiting' }, waiting);
    },
  });
  const pool = database?.pool;
  if (pool) {
    new Gauge({
      name: 'tessera_db_pool_connections',
      help: 'PostgreSQL pool connections by state (total, idle, waiting clients)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }
  const webhookDeliveries = new Counter({
    name: 'tessera_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by result: delivered, retry (will be tried again), given_up',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const webhookDuration = new Histogram({
    name: 'tessera_webhook_delivery_duration_seconds',
    help: 'Time of one webhook delivery attempt, from resolving the host to the answer',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    requests,
    duration,
    refreshes,
    logins,
    rateLimited,
    dbErrors,
    keyReloads,
    webhookDeliveries,
    webhookDuration,
  };
}

const metrics: FastifyPluginAsync<{ services: Services; database?: Database }> = async (
  app,
  { services, database },
) => {
  const m = makeMetrics(services, database);
  // The counter each outcomeMetric feeds, and what it calls a request the rate limit refused before the route ran.
  const outcomes = {
    refresh: { counter: m.refreshes, limited: 'rate_limited' },
    login: { counter: m.logins, limited: 'throttled' },
  } as const;
  app.decorate('metrics', {
    registry: m.registry,
    keyReloads: m.keyReloads,
    webhookDeliveries: m.webhookDeliveries,
    webhookDuration: m.webhookDuration,
  } satisfies TesseraMetrics);

  // Pre-bound children: the per-response cost is a string key and a Map lookup.
  const bound = new Map<
    string,
    { count: ReturnType<typeof m.requests.labels>; time: ReturnType<typeof m.duration.labels> }
  >();
  function childrenFor(method: string, route: string, status: number) {
    const key = `${method} ${route} ${status}`;
    let c = bound.get(key);
    if (!c) {
      const labels = { method, route, status_code: String(status) };
      c = { count: m.requests.labels(labels), time: m.duration.labels(labels) };
      bound.set(key, c);
    }
    return c;
  }

  app.addHook('onError', async (_request, _reply, error) => {
    const fault = classifyDatabaseError(error);
    if (fault) m.dbErrors.inc({ fault });
  });

  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    // The route's pattern, never the raw URL: one series per route, whatever clients send.
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const c = childrenFor(request.method, route, status);
    c.count.inc();
    c.time.observe(reply.elapsedTime / 1000);
    if (status === 429) m.rateLimited.inc({ route });
    const metric = request.routeOptions.config?.outcomeMetric;
    if (metric)
      outcomes[metric].counter.inc({
        outcome: request.outcome ?? (status === 429 ? outcomes[metric].limited : 'error'),
      });
    done();
  });

  const token = services.config.metricsToken;
  if (token) {
    const expected = sha256(`Bearer ${token}`);
    app.get(METRICS_PATH, { schema: { hide: true }, onSend: noStore }, async (request, reply) => {
      // Hashes of equal length, so the comparison takes the same time whatever was sent.
      if (!timingSafeEqual(sha256(request.headers.authorization ?? ''), expected)) {
        reply.header('www-authenticate', 'Bearer realm="tessera-metrics"');
        throw new AppError('missing_token');
      }
      return reply.type(m.registry.contentType).send(await m.registry.metrics());
    });
  }
};

export default fp(metrics, { name: 'tessera-metrics', dependencies: ['tessera-request-log'] });

declare module 'fastify' {
  interface FastifyInstance {
    metrics: TesseraMetrics;
  }
}
