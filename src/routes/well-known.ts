// Public metadata: the JWKS, the OpenID Provider discovery document (OIDC Discovery 1.0) and the same
// document as RFC 8414 authorization server metadata. It names only what Tessera really does: the code flow
// with PKCE S256 (src/routes/authorize.ts), its grants, its client authentication methods and scopes.
import { DEVICE_CODE_GRANT } from '../domain/grants/device-code.js';
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ACCESS_TOKEN_TYPE } from '../domain/tokens/access-tokens.js';
import { ACR_VALUES, CLAIM_NAMES, SIGNED_UNTIL_MEMBER } from '@tessera/verify/contract';
import type { PublicJwk } from '../domain/keys/keys.js';
import { errorResponses } from '../http/schemas.js';
import { ASSERTION_ALGS } from '../domain/authz/client-assertions.js';
import { TESSERA_SCOPES } from '../domain/tokens/client-config.js';
import { OIDC_SCOPES } from '../domain/oauth/client-metadata.js';
import { ID_TOKEN_CLAIMS } from '../domain/oauth/grant-tokens.js';
import type { Services } from '../services.js';

// Only public members are named, so a private one (d, p, q, …) can never be serialised.
// RSA keys carry n and e; EC keys crv, x and y; Ed25519 keys crv and x.
const Jwk = Type.Object({
  kty: Type.String(),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.String(),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String()),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  y: Type.Optional(Type.String()),
  // Retired keys: the last moment they signed (@tessera/verify/contract); ignored by other JOSE libraries.
  [SIGNED_UNTIL_MEMBER]: Type.Optional(Type.Integer()),
});
const Jwks = Type.Object({ keys: Type.Array(Jwk) });

const Discovery = Type.Object({
  issuer: Type.String(),
  jwks_uri: Type.String(),
  register_endpoint: Type.String(),
  login_endpoint: Type.String(),
  refresh_endpoint: Type.String(),
  logout_endpoint: Type.String(),
  logout_all_endpoint: Type.String(),
  userinfo_endpoint: Type.String(),
  sessions_endpoint: Type.String(),
  password_endpoint: Type.String(),
  introspection_endpoint: Type.String(),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint: Type.String(),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
  access_token_type: Type.String(),
  access_token_signing_alg_values_supported: Type.Array(Type.String()),
  id_token_signing_alg_values_supported: Type.Array(Type.String()),
  subject_types_supported: Type.Array(Type.String()),
  claims_supported: Type.Array(Type.String()),
  acr_values_supported: Type.Array(Type.String()),
  // The authorization server (src/routes/authorize.ts, src/routes/oidc.ts)
  authorization_endpoint: Type.String(),
  end_session_endpoint: Type.String(),
  response_types_supported: Type.Array(Type.String()),
  response_modes_supported: Type.Array(Type.String()),
  code_challenge_methods_supported: Type.Array(Type.String()),
  authorization_response_iss_parameter_supported: Type.Boolean(),
  prompt_values_supported: Type.Array(Type.String()),
  claims_parameter_supported: Type.Boolean(),
  request_parameter_supported: Type.Boolean(),
  request_uri_parameter_supported: Type.Boolean(),
  // The token endpoint and its registered grants (src/domain/grants/registry.ts)
  token_endpoint: Type.String(),
  device_authorization_endpoint: Type.Optional(Type.String()),
  grant_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  token_endpoint_auth_signing_alg_values_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  // RFC 7591 dynamic registration (src/routes/dynamic-registration.ts), only when DYNAMIC_REGISTRATION=true.
  registration_endpoint: Type.Optional(Type.String()),
  // RFC 9126 pushed authorization requests (src/routes/pushed-authorization.ts).
  pushed_authorization_request_endpoint: Type.String(),
  require_pushed_authorization_requests: Type.Boolean(),
});

/** What is registered, from which discovery's lists are derived. */
interface Registered {
  grantTypes: string[];
  authMethods: string[];
  confidentialAuthMethods: string[];
  clientScopes: string[];
  /** Whether /oauth/register answers (DYNAMIC_REGISTRATION). */
  dynamicRegistration?: boolean;
  /** REQUIRE_PUSHED_AUTHORIZATION_REQUESTS. */
  requirePushedRequests?: boolean;
}

/** The discovery document but for the key algorithms (read per request: keys rotate). */
export function discoveryDocument(issuer: string, registered: Registered) {
  const at = (p: string) => `${issuer}${p}`;
  return {
    issuer,
    jwks_uri: at('/.well-known/jwks.json'),
    register_endpoint: at('/auth/register'),
    login_endpoint: at('/auth/login'),
    refresh_endpoint: at('/auth/refresh'),
    logout_endpoint: at('/auth/logout'),
    logout_all_endpoint: at('/auth/logout-all'),
    userinfo_endpoint: at('/oauth/userinfo'),
    sessions_endpoint: at('/auth/sessions'),
    password_endpoint: at('/auth/password'),
    introspection_endpoint: at('/oauth/introspect'),
    introspection_endpoint_auth_methods_supported: registered.confidentialAuthMethods,
    revocation_endpoint: at('/oauth/revoke'),
    revocation_endpoint_auth_methods_supported: registered.confidentialAuthMethods,
    access_token_type: ACCESS_TOKEN_TYPE,
    access_token_signing_alg_values_supported: [] as string[],
    id_token_signing_alg_values_supported: [] as string[],
    subject_types_supported: ['public'],
    // Derived, never listed by hand: the claims contract, the registered grants and client authentication methods.
    // …and the ID token's own (src/domain/oauth/grant-tokens.ts).
    claims_supported: [...new Set([...CLAIM_NAMES, ...ID_TOKEN_CLAIMS])],
    // The levels access and ID tokens state in acr (src/domain/sessions/assurance.ts).
    acr_values_supported: [...ACR_VALUES],
    authorization_endpoint: at('/oauth/authorize'),
    end_session_endpoint: at('/oauth/logout'),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    prompt_values_supported: ['none', 'login', 'consent'],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    token_endpoint: at('/oauth/token'),
    // RFC 8628 §4: present exactly when the device_code grant is registered.
    ...(registered.grantTypes.includes(DEVICE_CODE_GRANT)
      ? { device_authorization_endpoint: at('/oauth/device_authorization') }
      : {}),
    grant_types_supported: registered.grantTypes,
    token_endpoint_auth_methods_supported: registered.authMethods,
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
    scopes_supported: [...new Set([...OIDC_SCOPES, ...TESSERA_SCOPES, ...registered.clientScopes])].sort(),
    ...(registered.dynamicRegistration ? { registration_endpoint: at('/oauth/register') } : {}),
    pushed_authorization_request_endpoint: at('/oauth/par'),
    require_pushed_authorization_requests: registered.requirePushedRequests ?? false,
  };
}

const wellKnownRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { keys, config } = services;
  // Safe to cache this long because no key signs before it has been published for longer
  // (src/domain/keys/key-rotation.ts): a cached set always holds the next key before it signs.
  const cacheControl = `public, max-age=${config.jwksMaxAge}`;
  const etags = new WeakMap<object, string>();
  const etagOf = (jwks: { keys: PublicJwk[] }) => {
    let tag = etags.get(jwks);
    if (!tag) {
      tag = `"${createHash('sha256').update(JSON.stringify(jwks)).digest('base64url').slice(0, 27)}"`;
      etags.set(jwks, tag);
    }
    return tag;
  };
  const algs = () => [...new Set(keys.jwks.keys.map((k) => k.alg))];
  const discovery = discoveryDocument(config.issuer, {
    grantTypes: services.grants.types,
    authMethods: services.clientAuthentication.methods,
    confidentialAuthMethods: services.clientAuthentication.confidentialMethods,
    clientScopes: services.serviceClients.scopes,
    dynamicRegistration: config.dynamicRegistration.enabled,
    requirePushedRequests: config.authorization.requirePushedRequests,
  });

  app.get(
    '/jwks.json',
    {
      schema: {
        summary: 'Public keys that verify access tokens',
        response: { 200: Jwks, 304: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const jwks = keys.jwks;
      const etag = etagOf(jwks);
      reply.header('cache-control', cacheControl).header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return jwks;
    },
  );

  for (const [path, summary] of [
    ['/openid-configuration', 'OpenID Provider discovery document'],
    ['/oauth-authorization-server', 'RFC 8414 authorization server metadata (the same document)'],
  ] as const) {
    app.get(path, { schema: { summary, response: { 200: Discovery, ...errorResponses } } }, async (_request, reply) => {
      reply.header('cache-control', cacheControl);
      return {
        ...discovery,
        access_token_signing_alg_values_supported: algs(),
        id_token_signing_alg_values_supported: algs(),
      };
    });
  }
};

export default wellKnownRoutes;
