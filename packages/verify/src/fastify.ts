// tesseraAuth: the verifier as a Fastify plugin. Routes opt in with `preHandler: app.requireAuth()`;
// refusals are JSON `{ code, message }`: 401 with an RFC 6750 challenge, or 503 when Tessera can't be reached.
// With `resourceMetadata`, the plugin also serves the RFC 9728 document (resource-metadata.ts) and every
// challenge names it and the scopes the route needs: what an MCP client follows to find Tessera.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { TesseraClaims } from './claims.js';
import { TesseraVerifyError, type TesseraVerifyErrorCode } from './errors.js';
import type { VerifierOptions } from './options.js';
import {
  bearerChallenge,
  resolveResourceMetadata,
  type ResolvedResourceMetadata,
  type ResourceMetadataOptions,
} from './resource-metadata.js';
import { createVerifier, type TesseraVerifier, type VerifyOptions } from './verifier.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The verifier behind requireAuth, for tokens that arrive some other way. */
    tessera: TesseraVerifier;
    /** A preHandler that accepts the request only with a valid Bearer access token; it sets request.auth. */
    requireAuth(opts?: VerifyOptions): preHandlerAsyncHookHandler;
  }
  interface FastifyRequest {
    /** The verified token's claims, set by requireAuth(); null on routes without it. */
    auth: TesseraClaims | null;
  }
}

export type TesseraAuthCode = TesseraVerifyErrorCode | 'missing_token';

/** The verifier's options, plus the RFC 9728 metadata this service publishes (optional). */
export interface TesseraAuthOptions extends VerifierOptions {
  resourceMetadata?: ResourceMetadataOptions;
}

const STATUS: Record<TesseraAuthCode, 401 | 403 | 503> = {
  missing_token: 401,
  invalid_token: 401,
  token_revoked: 401,
  introspection_unavailable: 503,
  jwks_unavailable: 503,
  insufficient_scope: 403,
  insufficient_user_authentication: 401,
};

// RFC 6750 b64token; the scheme is case-insensitive.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  code: TesseraAuthCode,
  message: string,
  challenge: {
    cause?: unknown;
    scope?: string | undefined;
    metadata?: ResolvedResourceMetadata | undefined;
    acrValues?: string | undefined;
    maxAge?: number | undefined;
  },
) {
  const status = STATUS[code];
  // The reason goes to the log only; the token itself never does.
  const reason = challenge.cause instanceof Error ? challenge.cause.message : undefined;
  if (status === 503) request.log.warn({ event: 'tessera_auth_unavailable', code, reason }, 'token check unavailable');
  else request.log.info({ event: 'tessera_auth_refused', code, reason }, 'token refused');
  if (status !== 503) {
    reply.header(
      'www-authenticate',
      bearerChallenge({
        // RFC 6750 §3.1: no error attribute when the request carried no credentials at all.
        error:
          code === 'missing_token'
            ? undefined
            : code === 'insufficient_scope' || code === 'insufficient_user_authentication'
              ? code
              : 'invalid_token',
        description: message,
        // The scopes the request needs: a 403 names them (RFC 6750 §3.1), a 401 too so a client asks for them.
        scope: challenge.scope,
        resourceMetadata: challenge.metadata?.url,
        acrValues: challenge.acrValues,
        maxAge: challenge.maxAge,
      }),
    );
  }
  return reply.code(status).send({ code, message });
}

const plugin: FastifyPluginAsync<TesseraAuthOptions> = async (fastify, options) => {
  // Throws on bad options, so a misconfigured service fails at boot rather than on the first request.
  const { resourceMetadata, ...verifierOptions } = options;
  const verifier = createVerifier(verifierOptions);
  const canIntrospect = options.introspection !== undefined;
  const audiences = Array.isArray(options.audience) ? options.audience : [options.audience];
  const metadata = resourceMetadata ? resolveResourceMetadata(resourceMetadata, options.issuer, audiences) : undefined;
  if (metadata) {
    fastify.get(
      metadata.path,
      {
        schema: {
          response: {
            200: {
              type: 'object',
              properties: {
                resource: { type: 'string' },
                authorization_servers: { type: 'array', items: { type: 'string' } },
                bearer_methods_supported: { type: 'array', items: { type: 'string' } },
                scopes_supported: { type: 'array', items: { type: 'string' } },
                resource_name: { type: 'string' },
              },
              required: ['resource', 'authorization_servers'],
            },
          },
        },
      },
      async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return metadata.document;
      },
    );
  }

  fastify.decorate('tessera', verifier);
  fastify.decorateRequest('auth', null);
  fastify.decorate('requireAuth', function requireAuth(opts: VerifyOptions = {}): preHandlerAsyncHookHandler {
    if (opts.introspect && !canIntrospect) {
      throw new TypeError(
        '@tessera/verify: requireAuth({ introspect: true }) needs the introspection option of tesseraAuth',
      );
    }
    return async function tesseraRequireAuth(request, reply) {
      const header = request.headers.authorization;
      // Another scheme (Basic, …) counts as no credentials for this resource, as RFC 6750 §3.1 says.
      const challenge = { scope: opts.scopes?.length ? opts.scopes.join(' ') : undefined, metadata };
      if (!header || !/^bearer(\s|$)/i.test(header))
        return refuse(request, reply, 'missing_token', 'no bearer token', challenge);
      const match = BEARER.exec(header);
      if (!match) return refuse(request, reply, 'invalid_token', 'malformed Authorization header', challenge);
      try {
        request.auth = await verifier.verify(match[1]!, opts);
      } catch (err) {
        if (err instanceof TesseraVerifyError)
          return refuse(request, reply, err.code, err.message, {
            cause: err.cause,
            scope: err.scope ?? challenge.scope,
            metadata,
            acrValues: err.acrValues,
            maxAge: err.maxAge,
          });
        throw err;
      }
      return undefined;
    };
  });
};

// What fastify-plugin would do, without a dependency: the decorators reach the registering scope
// ('skip-override', as Fastify's plugin guide documents) and Fastify checks the name and version it needs.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'tessera-auth',
  [Symbol.for('plugin-meta')]: { name: 'tessera-auth', fastify: '5.x' },
});

/**
 * Registers the verifier as `fastify.tessera` and `fastify.requireAuth(opts?)`; options are createVerifier's,
 * plus `resourceMetadata` to serve RFC 9728 protected-resource metadata and name it in every challenge.
 */
const tesseraAuth = plugin;
export default tesseraAuth;
