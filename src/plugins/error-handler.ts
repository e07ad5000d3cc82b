// Turns every error into the catalog's JSON shape. Clients see a code, a status and a public message;
// stacks and internal detail go to the log. Anything unexpected is a bare internal_error.
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError, type ErrorCode } from '../errors.js';
import { classifyDatabaseError } from '../db/unavailable.js';
import { DatabaseFaults } from '../db/faults.js';
import { DomainError } from '../domain/domain-error.js';

/** Seconds a client should wait before retrying, per database fault (Retry-After). */
export const RETRY_AFTER = { unavailable: 5, disk_full: 30, conflict: 1 } as const;

/** The client hung up mid-request (its socket reset, its body cut short): no one to answer, nothing wrong here. */
function isClientAbort(err: Error, request: FastifyRequest): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return err.message === 'aborted' || ((code === 'ECONNRESET' || code === 'ECONNABORTED') && request.raw.destroyed);
}

/** Fastify's own 4xx errors, mapped to our codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_BAD_URL: 'invalid_request',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
};

/** Any other client error by its status, so no 4xx leaves in a shape of its own. */
const BY_STATUS: Record<number, ErrorCode> = {
  404: 'not_found',
  408: 'request_timeout',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  431: 'headers_too_large',
};

export function toAppError(err: FastifyError | Error): AppError {
  if (isAppError(err)) return err;
  if (err instanceof DomainError) {
    return new AppError(err.code, {
      message: err.publicMessage,
      detail: err.message,
      cause: err.cause,
      retryAfter: err.retryAfter,
      ...(err.stepUp ? { stepUp: err.stepUp } : {}),
    });
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const where = fe.validationContext ?? 'request';
    const first = fe.validation[0];
    const field = first ? `${where}${first.instancePath}` : where;
    return new AppError('invalid_request', { message: `${field} ${first?.message ?? 'is invalid'}`.trim() });
  }
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new AppError(mapped, { detail: fe.message });
  const fault = classifyDatabaseError(err);
  if (fault)
    return new AppError('service_unavailable', {
      detail: `database_${fault === 'unavailable' ? 'unavailable' : fault === 'disk_full' ? 'disk_full' : 'conflict'}: ${err.message}`,
      cause: err,
      retryAfter: RETRY_AFTER[fault],
    });
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new AppError(BY_STATUS[fe.statusCode] ?? 'invalid_request', { detail: fe.message });
  }
  return new AppError('internal_error', { detail: err.message, cause: err });
}

/** RFC 6749 §5.2 / RFC 7009 §2.2.1 error codes for the OAuth endpoints, next to our own code. */
function oauthError(error: AppError): string {
  if (error.code === 'invalid_client') return 'invalid_client';
  if (
    error.code === 'invalid_scope' ||
    error.code === 'unsupported_grant_type' ||
    error.code === 'insufficient_scope' ||
    error.code === 'invalid_grant' ||
    error.code === 'unauthorized_client' ||
    error.code === 'invalid_client_metadata' ||
    error.code === 'invalid_redirect_uri' ||
    error.code === 'invalid_token' ||
    error.code === 'invalid_target' ||
    error.code === 'authorization_pending' ||
    error.code === 'slow_down' ||
    error.code === 'access_denied' ||
    error.code === 'expired_token'
  )
    return error.code;
  if (error.statusCode === 503) return 'temporarily_unavailable';
  if (error.statusCode >= 500) return 'server_error';
  return 'invalid_request';
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError) {
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  // RFC 9470 §3: the challenge a client reads to step up, and the same facts in the body for an SPA.
  if (error.stepUp)
    reply.header(
      'www-authenticate',
      `Bearer error="insufficient_user_authentication", error_description="${error.publicMessage.replace(/["\\]/g, '')}", ` +
        `acr_values="${error.stepUp.acrValues}", max_age=${error.stepUp.maxAge}`,
    );
  return reply
    .code(error.statusCode)
    .type('application/json; charset=utf-8')
    .send({
      status_code: error.statusCode,
      code: error.code,
      message: error.publicMessage,
      request_id: request.id,
      ...(error.stepUp ? { acr_values: error.stepUp.acrValues, max_age: error.stepUp.maxAge } : {}),
      ...(request.url.startsWith('/oauth/') || request.url.startsWith('/admin/clients')
        ? { error: oauthError(error), error_description: error.publicMessage }
        : {}),
    });
}

export default fp(
  async (app) => {
    const faults = new DatabaseFaults();
    app.decorate('databaseFaults', faults);
    // Every successful POST (login, register, refresh…) wrote to the database.
    app.addHook('onResponse', (request, reply, done) => {
      if (request.method === 'POST' && reply.statusCode < 400) faults.writeSucceeded();
      done();
    });
    app.setErrorHandler((err, request, reply) => {
      if (isClientAbort(err as Error, request)) {
        request.log.info(
          { event: 'client_aborted', code: (err as NodeJS.ErrnoException).code },
          'client aborted the request',
        );
        return sendError(request, reply, new AppError('invalid_request', { detail: 'client aborted the request' }));
      }
      const error = toAppError(err as FastifyError);
      const fault = error.code === 'service_unavailable' ? classifyDatabaseError(error.cause) : undefined;
      if (fault) faults.record(fault);
      if (fault === 'disk_full') {
        request.log.error(
          { event: 'database_disk_full', err: { message: error.message } },
          'database disk full: writes fail until space is freed',
        );
      } else if (fault === 'conflict') {
        // Not an outage: PostgreSQL ended this request's transaction so that another could go on. Two changes
        // taking the same locks in different orders do that; each is worth finding, hence a warning.
        request.log.warn(
          { event: 'database_conflict', err: { message: error.message } },
          'transaction ended as a deadlock or serialization failure: answered 503, to be retried',
        );
      } else if (fault === 'unavailable') {
        request.log.error({ event: 'database_unavailable', err: { message: error.message } }, 'database unavailable');
      } else if (error.statusCode >= 500) {
        request.log.error({ err: error.cause ?? err, code: error.code }, 'request failed');
      } else if (error.message !== error.code) {
        request.log.info({ code: error.code, detail: error.message }, 'request refused');
      }
      return sendError(request, reply, error);
    });
    app.setNotFoundHandler((request, reply) => sendError(request, reply, new AppError('not_found')));
  },
  { name: 'tessera-errors' },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** Database faults seen by requests, for readiness. */
    databaseFaults: DatabaseFaults;
  }
}
