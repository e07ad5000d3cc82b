// The authorization request (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2.1, RFC 8707), checked in the order
// that decides where an error may go: an unknown client or a redirect URI that is not registered is shown
// on Tessera's own page and never redirected (§4.1.2.1: an open redirector otherwise); everything after that
// goes back to the client's redirect URI. PKCE with S256 is required of every client. Pure: the client is
// looked up by the caller, so each rule is a unit of its own.
import { redirectUriMatches } from './redirect-uris.js';
import type { OAuthClient } from './clients.js';
import { requestAudience, type ResourceRegistry } from './resources.js';

export interface AuthorizationRequest {
  client: OAuthClient;
  redirectUri: string;
  state: string | null;
  scope: string[];
  nonce: string | null;
  codeChallenge: string;
  audience: string[];
  prompt: Set<'none' | 'login' | 'consent'>;
  maxAge: number | null;
  loginHint: string | null;
}

export type Checked =
  | { kind: 'page'; detail: string }
  | { kind: 'redirect'; redirectUri: string; state: string | null; error: string; description: string }
  | { kind: 'ok'; request: AuthorizationRequest };

/** The request's parameters: one value each (a repeated parameter arrives as an array and is refused). */
export type Params = Record<string, string | string[] | undefined>;

/** The names the authorization endpoint reads, for the hidden fields that carry a request through the pages. */
export const REQUEST_PARAMS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'resource',
  'prompt',
  'max_age',
  'login_hint',
] as const;

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const PROMPTS = ['none', 'login', 'consent'] as const;

function single(params: Params, name: string): string | null | 'repeated' {
  const v = params[name];
  if (Array.isArray(v)) return 'repeated';
  return v === undefined || v === '' ? null : v;
}

/**
 * How the parameters arrived: `pushed`, through /oauth/par (RFC 9126), either now (the push being checked) or
 * earlier (the request_uri claimed at /oauth/authorize); `requirePushed`: the deployment requires it of every
 * client (REQUIRE_PUSHED_AUTHORIZATION_REQUESTS), as a client's registration may for itself.
 */
export interface Arrival {
  pushed: boolean;
  requirePushed: boolean;
}

export function checkAuthorizationRequest(
  params: Params,
  client: OAuthClient | null,
  resources: ResourceRegistry,
  arrival: Arrival = { pushed: false, requirePushed: false },
): Checked {
  const clientId = single(params, 'client_id');
  const redirectUri = single(params, 'redirect_uri');
  if (clientId === null || clientId === 'repeated') return { kind: 'page', detail: 'client_id missing or repeated' };
  if (!client || client.disabledAt) return { kind: 'page', detail: 'unknown or disabled client' };
  if (redirectUri === null || redirectUri === 'repeated' || !redirectUriMatches(client.redirectUris, redirectUri))
    return { kind: 'page', detail: 'redirect_uri missing or not registered' };

  const stateValue = single(params, 'state');
  const state = stateValue === 'repeated' ? null : stateValue;
  const fail = (error: string, description: string): Checked => ({
    kind: 'redirect',
    redirectUri,
    state,
    error,
    description,
  });
  for (const name of REQUEST_PARAMS)
    if (single(params, name) === 'repeated') return fail('invalid_request', `${name} is repeated`);
  if (state !== null && state.length > 1024) return fail('invalid_request', 'state is too long');
  if (params.request !== undefined) return fail('request_not_supported', 'request objects are not supported');
  // A pushed request_uri is resolved before this check (src/domain/oauth/pushed-requests.ts); one inside a push is refused.
  if (params.request_uri !== undefined) return fail('invalid_request', 'request_uri is not allowed here');
  if (!arrival.pushed && (client.requirePar || arrival.requirePushed))
    return fail('invalid_request', 'this client must push its authorization requests to /oauth/par first');

  if (single(params, 'response_type') !== 'code')
    return fail('unsupported_response_type', 'response_type must be code');
  const challenge = single(params, 'code_challenge') as string | null;
  const method = single(params, 'code_challenge_method');
  if (challenge === null) return fail('invalid_request', 'code_challenge is required (PKCE)');
  if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
  if (!CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge is not an S256 challenge');

  const scopeValue = (single(params, 'scope') as string | null) ?? '';
  const scope = [...new Set(scopeValue.split(' ').filter(Boolean))];
  if (scope.length === 0 || scopeValue.length > 1024) return fail('invalid_scope', 'scope is required');
  const refused = scope.filter((s) => !client.scopes.includes(s));
  if (refused.length > 0)
    return fail('invalid_scope', `not allowed for this client: ${refused.join(' ').slice(0, 200)}`);

  const nonce = single(params, 'nonce') as string | null;
  if (nonce !== null && nonce.length > 256) return fail('invalid_request', 'nonce is too long');

  const resource = single(params, 'resource') as string | null;
  const audience = requestAudience(client, resources, resource);
  if (audience === null) return fail('invalid_target', 'resource is not a registered resource for this client');

  const promptValue = (single(params, 'prompt') as string | null) ?? '';
  const prompts = promptValue.split(' ').filter(Boolean);
  if (!prompts.every((p) => (PROMPTS as readonly string[]).includes(p)))
    return fail('invalid_request', 'prompt must be none, login or consent');
  const prompt = new Set(prompts as (typeof PROMPTS)[number][]);
  if (prompt.has('none') && prompt.size > 1) return fail('invalid_request', 'prompt=none stands alone');

  const maxAgeValue = single(params, 'max_age') as string | null;
  if (maxAgeValue !== null && !/^[0-9]{1,9}$/.test(maxAgeValue))
    return fail('invalid_request', 'max_age must be a number of seconds');
  const loginHint = single(params, 'login_hint') as string | null;
  if (loginHint !== null && loginHint.length > 320) return fail('invalid_request', 'login_hint is too long');

  return {
    kind: 'ok',
    request: {
      client,
      redirectUri,
      state,
      scope,
      nonce,
      codeChallenge: challenge,
      audience,
      prompt,
      maxAge: maxAgeValue === null ? null : Number(maxAgeValue),
      loginHint,
    },
  };
}

/** The redirect back to the client (RFC 6749 §4.1.2, RFC 9207: iss always), with a code or an error. */
export function responseUrl(redirectUri: string, issuer: string, params: Record<string, string | null>): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null) query.set(k, v);
  query.set('iss', issuer);
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${query.toString()}`;
}
