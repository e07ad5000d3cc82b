// Builds a Tessera app: database, keys, domain services, plugins and routes. Does not listen
// (src/server.ts does), so tests build as many instances as they like and talk to them with inject.
import type { FetchOptions } from './domain/oauth/client-document-fetch.js';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions, type RouteOptions } from 'fastify';
import cookie from '@fastify/cookie';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/open.js';
import { systemClock, type Clock } from './domain/clock.js';
import { KeyStore } from './domain/keys/keys.js';
import { MemoryThrottleStore } from './domain/accounts/login-throttle.js';
import { backfillEmailSkeletons } from './domain/accounts/email-skeletons.js';
import { loadCommonPasswords } from './domain/accounts/password-policy.js';
import { connectRedis } from './db/redis.js';
import { RedisThrottleStore } from './stores/redis-throttle.js';
import { RedisSendLimitStore } from './stores/redis-send-limit.js';
import { MemorySendLimitStore } from './domain/mail/send-limit.js';
import { ErrorBody } from './http/schemas.js';
import errorHandler from './plugins/error-handler.js';
import jsonBody from './plugins/json-body.js';
import requestLog from './plugins/request-log.js';
import gracefulClose from './plugins/graceful-close.js';
import browserSecurity from './plugins/browser-security.js';
import edgeErrors, { clientErrorHandler, frameworkErrorHandler } from './plugins/edge-errors.js';
import { securityHeaders } from './http/security-headers.js';
import { serverOptions } from './http/server-options.js';
import { schemaController } from './http/schema-compilers.js';
import { named } from './http/plugin-name.js';
import { REQUEST_ID_LOG_LABEL, requestIdOf, traceIdOf } from './http/request-id.js';
import { requestLogger } from './http/request-logger.js';
import rateLimit from './plugins/rate-limit.js';
import openapi from './plugins/openapi.js';
import metrics from './plugins/metrics.js';
import purgeJob from './plugins/purge-job.js';
import keyReload from './plugins/key-reload.js';
import { ensureKeys } from './domain/keys/key-rotation.js';
import { isReadOnlyError } from './domain/keys/key-files.js';
import { macKeyPolicy, rotationPolicy } from './domain/keys/key-policies.js';
import { ensureMacKey, MacKeyRing } from './domain/keys/refresh-keys.js';
import { ensureApiKeyPepper } from './domain/keys/api-key-pepper.js';
import authRoutes from './routes/auth.js';
import mfaRoutes from './routes/mfa.js';
import stepUpRoutes from './routes/step-up.js';
import federationRoutes from './routes/federation.js';
import passkeyRoutes from './routes/passkeys.js';
import healthRoutes from './routes/health.js';
import oauthRoutes from './routes/oauth.js';
import sessionRoutes from './routes/sessions.js';
import apiKeyRoutes from './routes/api-keys.js';
import wellKnownRoutes from './routes/well-known.js';
import tokenRoutes from './routes/token.js';
import adminRoutes from './routes/admin.js';
import authorizeRoutes from './routes/authorize.js';
import dynamicRegistrationRoutes from './routes/dynamic-registration.js';
import pushedAuthorizationRoutes from './routes/pushed-authorization.js';
import authorizationUiRoutes from './routes/authorization-ui.js';
import { PageTheme } from './http/page-theme.js';
import deviceAuthorizationRoutes from './routes/device-authorization.js';
import deviceRoutes from './routes/device.js';
import passkeyStepAssetRoutes from './routes/passkey-step-asset.js';
import oidcRoutes from './routes/oidc.js';
import { createServices, type Services } from './services.js';
import { bootstrapAdminAtBoot, warnAboutConfig } from './boot-checks.js';
import recoveryRoutes from './routes/recovery.js';
import mailWorker from './plugins/mail-worker.js';
import webhookWorker from './plugins/webhook-worker.js';

export interface AppOptions {
  config: Config;
  clock?: Clock;
  /** An open database to use (the caller closes it); by default the app opens config.databaseUrl and closes it. */
  database?: Database;
  /** Where logs go; by default stdout at config.logLevel. */
  logStream?: NodeJS.WritableStream;
  /** Sees every route as it is added, from the first plugin on (tests compare them with the OpenAPI document). */
  onRoute?: (route: RouteOptions) => void;
  /** Test only: how client metadata documents are fetched (a loopback fixture, its CA). Never from configuration. */
  documentFetch?: FetchOptions;
}

/** Paths pino blanks out wherever they appear in a log line: secrets never reach the logs. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  // client_credentials (src/routes/token.ts)
  '*.client_secret',
  '*.client_assertion',
  // the authorization server (src/routes/authorize.ts, src/routes/token.ts)
  '*.code',
  '*.code_verifier',
  '*.id_token',
  '*.id_token_hint',
  // the device authorization grant (src/routes/device-authorization.ts, src/routes/device.ts)
  '*.device_code',
  '*.user_code',
  '*.csrf',
  // second factors (src/routes/mfa.ts, /auth/mfa/verify)
  '*.mfa_token',
  '*.recovery_code',
  '*.codes',
  '*.secret',
  '*.otpauth_uri',
  // API keys (src/routes/api-keys.ts, the token exchange)
  '*.subject_token',
  '*.key',
  'password',
  'token',
  // Node's client errors carry the raw bytes received; src/plugins/edge-errors.ts never logs them, and this
  // catches any other path that would.
  'rawPacket',
  '*.rawPacket',
];

const BODY_LIMIT = 16 * 1024;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance & { services: Services }> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const logger: FastifyServerOptions['logger'] = {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(opts.logStream ? { stream: opts.logStream } : {}),
  };

  const headers = securityHeaders(config);
  const app: FastifyInstance = Fastify({
    logger,
    // src/plugins/request-log.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: REQUEST_ID_LOG_LABEL }),
    // The caller's x-request-id when it is safe to log, and a traceparent's trace id on every line (src/http/request-id.ts).
    genReqId: requestIdOf,
    childLoggerFactory: (logger, bindings, opts, req) => {
      const traceId = traceIdOf(req);
      return requestLogger(logger, traceId ? { ...bindings, traceId } : bindings, opts);
    },
    bodyLimit: BODY_LIMIT,
    // X-Forwarded-For is believed only as far as TRUST_PROXY says; timeouts for slow clients.
    ...serverOptions(config),
    // Requests that never reach a route still get the catalog's shape and headers, and log no raw bytes.
    clientErrorHandler: clientErrorHandler(headers, () => app.log),
    frameworkErrors: frameworkErrorHandler(headers),
    return503OnClosing: true,
    // On close, idle keep-alive sockets are ended at once (src/plugins/graceful-close.ts tells the busy ones).
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Compiled route schemas shared by every app of the process (src/http/schema-compilers.ts).
    schemaController,
  });

  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);
  const database = opts.database ?? (await openDatabase(config.databaseUrl, { timeouts: config.databaseTimeouts }));
  if (!opts.database) app.addHook('onClose', () => database.close());
  try {
    await prepareKeys(config, clock, app);
    const keys = await KeyStore.open(config.keysDir, {
      clock,
      accessTokenTtlSeconds: config.accessTokenTtl,
      reloadSeconds: config.keysReloadSeconds,
    });
    const refreshKeys = await MacKeyRing.open(config.keysDir, clock, macKeyPolicy(config));
    const apiKeyPepper = await ensureApiKeyPepper(config.keysDir);
    if (apiKeyPepper.made)
      app.log.info({ event: 'keys_changed', done: ['generated the API-key pepper'] }, 'API-key pepper generated');
    const redis = config.redisUrl ? await connectRedis(config.redisUrl) : undefined;
    if (redis) {
      app.addHook('onClose', async () => void (await redis.quit().catch(() => redis.disconnect())));
      // Commands fail fast while Redis is away and the stores fail open; say so, at most once a minute.
      let lastReported = 0;
      redis.on('error', (err: Error) => {
        if (Date.now() - lastReported < 60_000) return;
        lastReported = Date.now();
        app.log.error(
          { event: 'redis_error', err: { message: err.message } },
          'redis unavailable: rate limits and login throttling are not enforced',
        );
      });
    }
    const throttleStore = redis
      ? new RedisThrottleStore(redis, (err) =>
          app.log.error({ event: 'redis_error', err: { message: err.message } }, 'login throttle store failed'),
        )
      : new MemoryThrottleStore();
    const sendLimitStore = redis
      ? new RedisSendLimitStore(redis, (err) =>
          app.log.error({ event: 'redis_error', err: { message: err.message } }, 'mail send-limit store failed'),
        )
      : new MemorySendLimitStore();
    const services = await createServices(
      config,
      clock,
      database,
      keys,
      refreshKeys,
      {
        throttle: throttleStore,
        sendLimit: sendLimitStore,
      },
      apiKeyPepper.pepper,
      opts.documentFetch,
    );
    await services.passwords.warmUp();
    loadCommonPasswords(); // the new-password screen's list, built once here rather than on a first request
    const skeletons = await backfillEmailSkeletons(database.prisma);
    if (skeletons.filled + skeletons.shared > 0)
      app.log.info({ event: 'email_skeletons_filled', ...skeletons }, 'email skeletons computed for older accounts');
    warnAboutConfig(app.log, config);
    await bootstrapAdminAtBoot(app.log, config, database, clock);

    app.decorate('services', services);
    // The built-in pages' look and wording, read once here: a bad PAGES_TEMPLATES_DIR file stops the boot.
    app.decorate('pageTheme', await PageTheme.load(config.authorization.pages));
    app.decorateRequest('bearer', null);
    app.addSchema(ErrorBody);
    // Hooks run in this order: the request id and security headers come first, so every refusal has them.
    await app.register(named(requestLog));
    await app.register(named(browserSecurity), { config, headers });
    await app.register(named(edgeErrors), { headers });
    await app.register(named(cookie));
    await app.register(named(jsonBody));
    await app.register(named(errorHandler));
    await app.register(named(gracefulClose));
    await app.register(named(metrics), { services, database });
    await app.register(named(rateLimit), { services, redis });
    // Before the routes: it collects them as they are added.
    await app.register(named(openapi), { config });
    await app.register(named(authRoutes), { prefix: '/auth', services });
    await app.register(named(sessionRoutes), { prefix: '/auth', services });
    await app.register(named(apiKeyRoutes), { prefix: '/auth', services });
    await app.register(named(recoveryRoutes), { prefix: '/auth', services });
    await app.register(named(federationRoutes), { prefix: '/auth', services });
    await app.register(named(mfaRoutes), { prefix: '/auth', services });
    await app.register(named(stepUpRoutes), { prefix: '/auth', services });
    await app.register(named(passkeyRoutes), { prefix: '/auth', services });
    await app.register(named(oauthRoutes), { prefix: '/oauth', services });
    await app.register(named(tokenRoutes), { prefix: '/oauth', services });
    await app.register(named(authorizeRoutes), { prefix: '/oauth', services });
    await app.register(named(pushedAuthorizationRoutes), { prefix: '/oauth', services });
    // The API of the deployment's own login and consent pages (LOGIN_UI_URL / CONSENT_UI_URL).
    await app.register(named(authorizationUiRoutes), { prefix: '/oauth', services });
    if (config.dynamicRegistration.enabled)
      await app.register(named(dynamicRegistrationRoutes), { prefix: '/oauth', services });
    await app.register(named(deviceAuthorizationRoutes), { prefix: '/oauth', services });
    await app.register(named(deviceRoutes), { prefix: '/oauth', services });
    await app.register(named(passkeyStepAssetRoutes), { services });
    await app.register(named(oidcRoutes), { services });
    await app.register(named(adminRoutes), { prefix: '/admin', services });
    await app.register(named(wellKnownRoutes), { prefix: '/.well-known', services });
    await app.register(named(healthRoutes), { prefix: '/health', services });
    await app.register(named(purgeJob), { services });
    await app.register(named(mailWorker), { services });
    await app.register(named(webhookWorker), { services });
    await app.register(named(keyReload), { services });
    await app.ready();
    return app as FastifyInstance & { services: Services };
  } catch (err) {
    await app.close();
    throw err;
  }
}

/**
 * Before the first read of KEYS_DIR: a key that signs (generated outside production only) and a next key.
 * A read-only KEYS_DIR that already holds a usable set is fine: keys are then managed elsewhere.
 */
async function prepareKeys(config: Config, clock: Clock, app: FastifyInstance): Promise<void> {
  try {
    const done = await ensureKeys(config.keysDir, clock.now(), rotationPolicy(config), {
      generateIfEmpty: config.env !== 'production',
    });
    if (done.length > 0) app.log.info({ event: 'keys_changed', done }, 'key set prepared');
  } catch (err) {
    if (!isReadOnlyError(err)) throw err;
    app.log.warn({ event: 'keys_read_only' }, 'KEYS_DIR is read-only: using the keys as they are');
  }
  // The refresh-token MAC key: generated in every NODE_ENV when missing (an upgraded production deployment
  // must keep starting); a read-only folder without one is a KeyError naming the command.
  const made = await ensureMacKey(config.keysDir, clock.now());
  if (made)
    app.log.info(
      { event: 'keys_changed', done: [`generated refresh-token key ${made}`] },
      'refresh-token key generated',
    );
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}
