// RFC 7591 client metadata, checked: what an admin (API or CLI) may register for an OAuth client. Pure, so
// the API and the CLI refuse the same things with the same words. Only what Tessera really supports is
// accepted: the code flow and the device flow (RFC 8628, for CLIs and TVs: no redirect URI needed), with
// refresh tokens, the four client authentication methods, public keys only.
import type { JSONWebKeySet, JWK } from 'jose';
import { DomainError } from '../domain-error.js';
import { redirectUriProblem } from './redirect-uris.js';

const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const GRANT_TYPES = ['authorization_code', 'refresh_token', DEVICE_CODE] as const;
/** The OpenID scopes every client may be given; admins add API scopes of their own. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;
const SCOPE = /^[A-Za-z0-9._:/-]{1,64}$/;
const RESOURCE = /^[^\s#]{1,256}$/;

/** What the admin sends (RFC 7591 §2 names, plus Tessera's first_party and resources). */
export interface ClientMetadataInput {
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[] | undefined;
  token_endpoint_auth_method?: string | undefined;
  grant_types?: string[] | undefined;
  response_types?: string[] | undefined;
  scope?: string | undefined;
  jwks?: JSONWebKeySet | undefined;
  resources?: string[] | undefined;
  first_party?: boolean | undefined;
  /** RFC 9126 §6: authorization requests must be pushed to /oauth/par first. */
  require_pushed_authorization_requests?: boolean | undefined;
}

export interface ClientMetadata {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  authMethod: AuthMethod;
  grantTypes: string[];
  scopes: string[];
  jwks: JSONWebKeySet | null;
  resources: string[];
  firstParty: boolean;
  requirePar: boolean;
}

const bad = (
  field: string,
  why: string,
  code: 'invalid_client_metadata' | 'invalid_redirect_uri' = 'invalid_client_metadata',
) => new DomainError(code, { message: `${field} ${why}` });

/** The metadata as stored, or DomainError invalid_client_metadata / invalid_redirect_uri naming the field. */
export function checkClientMetadata(input: ClientMetadataInput): ClientMetadata {
  const name = input.client_name.trim();
  if (name.length === 0 || name.length > 200) throw bad('client_name', 'must be 1 to 200 characters');
  const grantTypes = [...new Set(input.grant_types ?? ['authorization_code'])];
  // A device-only client (a CLI, a TV) is never redirected to: it may register no redirect URI.
  const redirected = grantTypes.includes('authorization_code');
  if ((redirected && input.redirect_uris.length === 0) || input.redirect_uris.length > 20)
    throw bad('redirect_uris', 'must list 1 to 20 URIs', 'invalid_redirect_uri');
  for (const uri of [...input.redirect_uris, ...(input.post_logout_redirect_uris ?? [])]) {
    const problem = redirectUriProblem(uri);
    if (problem) throw bad(`redirect URI ${JSON.stringify(uri.slice(0, 100))}`, problem, 'invalid_redirect_uri');
  }
  const method = input.token_endpoint_auth_method ?? 'client_secret_basic';
  if (!(AUTH_METHODS as readonly string[]).includes(method))
    throw bad('token_endpoint_auth_method', `must be one of ${AUTH_METHODS.join(', ')}`);
  if (
    !(redirected || grantTypes.includes(DEVICE_CODE)) ||
    grantTypes.some((g) => !(GRANT_TYPES as readonly string[]).includes(g))
  )
    throw bad('grant_types', `must include authorization_code or ${DEVICE_CODE}, and may add refresh_token`);
  if (input.response_types && (input.response_types.length !== 1 || input.response_types[0] !== 'code'))
    throw bad('response_types', 'must be ["code"]');
  const scopes = [...new Set((input.scope ?? 'openid').split(' ').filter(Boolean))];
  if (!scopes.every((s) => SCOPE.test(s))) throw bad('scope', 'takes space-separated scopes of A-Z a-z 0-9 . _ : / -');
  if (scopes.includes('offline_access') !== grantTypes.includes('refresh_token'))
    throw bad('scope', 'must include offline_access exactly when grant_types includes refresh_token');
  const resources = [...new Set(input.resources ?? [])];
  if (!resources.every((r) => RESOURCE.test(r))) throw bad('resources', 'are audiences without spaces or fragments');
  const jwks = input.jwks ?? null;
  if ((method === 'private_key_jwt') !== (jwks !== null))
    throw bad('jwks', 'is required for private_key_jwt and only then');
  if (jwks) checkPublicKeys(jwks);
  return {
    name,
    redirectUris: [...new Set(input.redirect_uris)],
    postLogoutRedirectUris: [...new Set(input.post_logout_redirect_uris ?? [])],
    authMethod: method as AuthMethod,
    grantTypes,
    scopes,
    jwks,
    resources,
    firstParty: input.first_party ?? false,
    requirePar: input.require_pushed_authorization_requests ?? false,
  };
}

function checkPublicKeys(jwks: JSONWebKeySet): void {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0 || jwks.keys.length > 10)
    throw bad('jwks', 'must hold 1 to 10 keys');
  for (const k of jwks.keys as JWK[]) {
    if (typeof k !== 'object' || k === null || typeof k.kty !== 'string') throw bad('jwks', 'keys need a kty');
    // A private or symmetric key in a registration was copied from the wrong side: refuse it.
    if ('d' in k || k.kty === 'oct') throw bad('jwks', 'must hold public keys only');
  }
}
