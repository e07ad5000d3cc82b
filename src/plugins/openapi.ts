// The OpenAPI 3.1 document, built by @fastify/swagger from the schemas every route already declares
// (so it can't describe a field the serializer would drop), served at /openapi.json with a docs page
// (@fastify/swagger-ui) at /docs, both unless API_DOCS=false (the default in production): the document
// lists every /admin route, so it is no more public than the page that renders it.
// Security requirements are read off each route rather than listed by hand: a Bearer preHandler, the
// `cookieAuth` route config, or the /oauth/ prefix whose hook authenticates the service client.
import type { FastifyPluginAsync, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from '../config.js';
import { REFRESH_COOKIE } from '../http/refresh-cookie.js';
import { BODY_EXAMPLES, responseDescription } from '../http/openapi-examples.js';

const OPENAPI_PATH = '/openapi.json';
const DOCS_PATH = '/docs';

type Requirement = Record<string, string[]>;

/** The security a route demands, from how it is guarded. */
function securityOf(route: Pick<RouteOptions, 'url' | 'preHandler' | 'config'>): Requirement[] | undefined {
  const handlers = [route.preHandler].flat().filter(Boolean) as { name?: string }[];
  // bearerAuth() (src/plugins/bearer-auth.ts) returns a function of this name.
  if (handlers.some((h) => h.name === 'requireBearer')) return [{ bearer: [] }];
  if ((route.config as { cookieAuth?: boolean } | undefined)?.cookieAuth) return [{ refreshCookie: [] }];
  // src/routes/admin.ts checks a Bearer token (a user's with role admin, or a client's with scope admin) first.
  if (route.url.startsWith('/admin/')) return [{ bearer: [] }];
  // The authorization server's browser endpoints (src/routes/authorize.ts, oidc.ts, device.ts) ask a person, not a client;
  // userinfo takes an OAuth client's Bearer token.
  // So does the one script of those pages (src/routes/passkey-step-asset.ts).
  if (/^\/oauth\/(authorize|logout|device(\/|$)|assets\/)/.test(route.url)) return undefined;
  if (route.url === '/oauth/userinfo') return [{ bearer: [] }];
  // src/routes/oauth.ts authenticates the client for every route of the plugin (Basic or form body).
  if (route.url.startsWith('/oauth/')) return [{ clientSecretBasic: [] }];
  return undefined;
}

/** The groups /docs lists routes in, in this order: one per reader's question. */
const TAGS = [
  {
    name: 'accounts',
    description:
      'Register, log in (and its second step), the current user, the password, passkeys, second factors, API keys, the apps a user let in, deleting the account.',
  },
  { name: 'sessions', description: "Refresh the access token, log out, list and end the user's sessions." },
  { name: 'email', description: 'Verify the address, reset a forgotten password, change the address.' },
  {
    name: 'providers',
    description: 'Sign in with Google, Microsoft, GitHub or an OpenID Connect provider; linked identities.',
  },
  {
    name: 'OAuth',
    description:
      'The authorization server: the token endpoint (every grant), introspection and revocation for services, the sign-in, consent and device pages, userinfo, logout, dynamic registration.',
  },
  { name: 'admin', description: 'Users, roles, account state and the audit log (role or scope `admin`).' },
  { name: 'keys and health', description: 'JWKS, discovery, liveness and readiness.' },
] as const;
type Tag = (typeof TAGS)[number]['name'];

/** A route's group, by its path: the routes stay free of documentation concerns. */
function tagOf(url: string): Tag {
  if (url.startsWith('/admin')) return 'admin';
  if (url.startsWith('/oauth/')) return 'OAuth';
  if (/^\/auth\/(oauth\/|providers|identities|password\/first)/.test(url)) return 'providers';
  if (/^\/auth\/(verify-email|email\/|password\/(forgot|reset))/.test(url)) return 'email';
  if (/^\/auth\/(refresh|logout|sessions)/.test(url)) return 'sessions';
  if (url.startsWith('/auth/')) return 'accounts';
  return 'keys and health';
}

/** Each response of a route, with what its status means unless the route says. */
function described(responses: Record<string, object>): Record<string, object> {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => {
      const description = responseDescription(status);
      return [status, 'description' in response || !description ? response : { ...response, description }];
    }),
  );
}

/** The docs page's top-bar mark, in place of the UI's own logo. */
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40"><rect x="2" y="8" width="11" height="11" fill="#6cc"/><rect x="15" y="8" width="11" height="11" fill="#fc6"/><rect x="2" y="21" width="11" height="11" fill="#f96"/><rect x="15" y="21" width="11" height="11" fill="#9c6"/><text x="34" y="28" font-family="sans-serif" font-size="22" fill="#fff">Tessera</text></svg>`;

const openapi: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera API',
        version: '0.1.0',
        description:
          'Stateless JWT authentication: accounts, access tokens (RFC 9068), rotating refresh cookies, sessions, JWKS, RFC 7662 introspection and RFC 7009 revocation. Every error is an `ErrorBody` with a stable `code`.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: config.issuer }],
      tags: TAGS.map((tag) => ({ ...tag })),
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'An access token from /auth/login or /auth/refresh.',
          },
          refreshCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: REFRESH_COOKIE,
            description:
              'The HttpOnly refresh cookie /auth/login sets (or `tessera_refresh` with COOKIE_DOMAIN). Browsers only: cross-site requests are refused.',
          },
          clientSecretBasic: {
            type: 'http',
            scheme: 'basic',
            description:
              'client_secret_basic: a client (from SERVICE_CLIENTS or registered) sends its id and secret, each form-urlencoded first (RFC 6749 §2.3.1). Or, instead (methods OpenAPI has no scheme for): client_secret_post, `client_id` and `client_secret` in the form body; or private_key_jwt (RFC 7523), `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and `client_assertion`, a JWT the client signs with a key of its registered JWKS. One method per request; discovery lists them in token_endpoint_auth_methods_supported.',
          },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    transform: ({ schema, url, route }) => {
      const security = securityOf(route);
      const tags = schema?.tags ?? [tagOf(url)];
      const example = BODY_EXAMPLES[`${[route.method].flat()[0]} ${url}`];
      const body = example && schema?.body ? { body: { ...(schema.body as object), examples: [example] } } : {};
      const response = schema?.response ? { response: described(schema.response as Record<string, object>) } : {};
      return { schema: { ...schema, tags, ...body, ...response, ...(security ? { security } : {}) }, url };
    },
  });

  if (config.apiDocs) {
    app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
    await app.register(swaggerUi, {
      routePrefix: DOCS_PATH,
      // The page's own policy instead of the API's `default-src 'none'`; plain http stays plain on localhost.
      staticCSP: true,
      theme: { title: 'Tessera API' },
      logo: { type: 'image/svg+xml', content: LOGO },
      uiConfig: { docExpansion: 'list' },
      transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
    });
  }
};

export default fp(openapi, { name: 'openapi' });
