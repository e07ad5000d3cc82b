// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, the MCP authorization spec's
// preferred registration): a client_id that is an https URL names a JSON document, served by the client,
// that says what the client is. These are the pure rules: which URLs may be a client_id, what a fetched
// document may say (and what it may not: secrets, Tessera's admin-only fields), and how long it is used.
// A document client gets no more than a dynamic one: public (PKCE) or private_key_jwt with keys inline,
// https or loopback redirect URIs, scopes within CLIENT_ID_METADATA_DOCUMENT_SCOPES, consent always asked.
// Fetching is client-document-fetch.ts; storing and caching, client-documents.ts.
import type { JSONWebKeySet } from 'jose';
import { DomainError } from '../domain-error.js';
import { checkClientMetadata, type ClientMetadata } from './client-metadata.js';

/**
 * The longest client_id URL accepted: the longest client id Tessera stores and looks up (OAuthClients.get, the
 * admin routes). A longer URL was fetched and stored, then not found: refused before any fetch instead.
 */
const MAX_URL = 128;

/** Whether a client_id is meant as a metadata document URL (then it is checked by clientIdUrlProblem). */
export const isDocumentClientId = (clientId: string): boolean => clientId.startsWith('https://');

/** Why this https client_id can't name a metadata document (draft §3), or null when it can. */
export function clientIdUrlProblem(clientId: string): string | null {
  if (clientId.length > MAX_URL) return `must be at most ${MAX_URL} characters`;
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:') return 'must be https';
  if (url.username || url.password) return 'must not contain user information';
  if (clientId.includes('#')) return 'must not contain a fragment';
  if (url.search || clientId.includes('?')) return 'must not contain a query';
  if (url.pathname === '/' || url.pathname === '') return 'must have a path';
  if (/\/\.\.?(\/|$)/.test(clientId.slice(url.origin.length))) return 'must not contain . or .. path segments';
  // The string compared with the document's client_id is this one: it must be what a parser writes back.
  if (url.href !== clientId) return 'must be written in canonical form';
  return null;
}

/** Fields a document may never hold: shared secrets (a public document can't keep one) and admin-only metadata. */
const FORBIDDEN = [
  'client_secret',
  'client_secret_expires_at',
  'first_party',
  'resources',
  'post_logout_redirect_uris',
  // Keys are taken inline only: a jwks_uri would be a second URL to fetch on the client's say-so.
  'jwks_uri',
] as const;
const METHODS = ['none', 'private_key_jwt'];
const GRANTS = ['authorization_code', 'refresh_token'];

export interface DocumentPolicy {
  /** The scopes a document client may be given (CLIENT_ID_METADATA_DOCUMENT_SCOPES). */
  scopes: string[];
}

const refuse = (why: string) =>
  new DomainError('invalid_client_metadata', { message: `client metadata document ${why}` });
const stringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * The client a fetched document describes, or DomainError invalid_client_metadata / invalid_redirect_uri.
 * Unknown informational fields (logo_uri, client_uri, contacts, …) are ignored, as RFC 7591 §2 says.
 */
export function documentClient(doc: unknown, clientId: string, policy: DocumentPolicy): ClientMetadata {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw refuse('must be a JSON object');
  const d = doc as Record<string, unknown>;
  // Simple string comparison (draft §4): the document must be the one its URL names.
  if (d.client_id !== clientId) throw refuse('must name its own URL as client_id');
  for (const field of FORBIDDEN) if (d[field] !== undefined) throw refuse(`must not contain ${field}`);
  if (!stringArray(d.redirect_uris)) throw refuse('must list redirect_uris');
  for (const uri of d.redirect_uris)
    if (!uri.startsWith('https://') && !uri.startsWith('http://'))
      throw new DomainError('invalid_redirect_uri', {
        message: 'redirect URIs of a metadata-document client must be https or loopback http',
      });
  const method = d.token_endpoint_auth_method ?? 'none';
  if (typeof method !== 'string' || !METHODS.includes(method))
    throw refuse('token_endpoint_auth_method must be none or private_key_jwt');
  const offline = policy.scopes.includes('offline_access');
  const grantTypes = d.grant_types ?? ['authorization_code', ...(offline ? ['refresh_token'] : [])];
  if (!stringArray(grantTypes) || grantTypes.some((g) => !GRANTS.includes(g)))
    throw refuse('grant_types may hold authorization_code and refresh_token only');
  if (d.scope !== undefined && typeof d.scope !== 'string') throw refuse('scope must be a string');
  const asked = typeof d.scope === 'string' ? d.scope.split(' ').filter(Boolean) : policy.scopes;
  const wantsRefresh = grantTypes.includes('refresh_token') && offline && asked.includes('offline_access');
  // What the document asks, within what is offered; the user's consent decides each request.
  const scopes = policy.scopes.filter((s) => s !== 'offline_access' && asked.includes(s));
  if (wantsRefresh) scopes.push('offline_access');
  if (d.client_name !== undefined && typeof d.client_name !== 'string') throw refuse('client_name must be a string');
  if (d.response_types !== undefined && !stringArray(d.response_types)) throw refuse('response_types must be strings');
  return {
    ...checkClientMetadata({
      client_name: (d.client_name ?? '').trim() || new URL(clientId).host,
      redirect_uris: d.redirect_uris,
      token_endpoint_auth_method: method,
      grant_types: [...new Set(grantTypes.filter((g) => g !== 'refresh_token' || wantsRefresh))],
      response_types: d.response_types,
      scope: scopes.join(' '),
      ...(d.jwks !== undefined ? { jwks: d.jwks as JSONWebKeySet } : {}),
    }),
    firstParty: false,
    resources: [],
  };
}

/** Bounds on how long a document is used, whatever it says (CLIENT_ID_METADATA_DOCUMENT_CACHE_*). */
export interface CacheBounds {
  minSeconds: number;
  maxSeconds: number;
}

/** How long a fetched document is used: its Cache-Control max-age within the bounds; the minimum without one. */
export function cacheSeconds(cacheControl: string | undefined, bounds: CacheBounds): number {
  const directives = (cacheControl ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return bounds.minSeconds;
  const maxAge = directives.map((d) => /^max-age=(\d{1,10})$/.exec(d)).find((m) => m !== null);
  const seconds = maxAge ? Number(maxAge[1]) : bounds.minSeconds;
  return Math.min(bounds.maxSeconds, Math.max(bounds.minSeconds, seconds));
}
