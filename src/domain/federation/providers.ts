// The identity providers of IDENTITY_PROVIDERS_FILE, checked at boot: a bad entry stops the process with
// a message naming the entry and the field, never a secret. Google and Microsoft are presets of plain
// OpenID Connect (their issuer is filled in); GitHub is OAuth 2.0 with its user API (github.ts).
// A client secret comes from the file or, better, from the environment variable `client_secret_env` names.

type ProviderType = 'oidc' | 'google' | 'microsoft' | 'github';
const TYPES: readonly ProviderType[] = ['oidc', 'google', 'microsoft', 'github'];

export interface ProviderSettings {
  id: string;
  type: ProviderType;
  name: string;
  /** The OpenID Connect issuer (discovery is `${issuer}/.well-known/openid-configuration`); undefined for GitHub. */
  issuer: string | undefined;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  /** Whether this provider's verified-email assertion is enough to link an existing account by email. */
  trustedForLinking: boolean;
  /** GitHub only: where its endpoints are (github.com by default; GitHub Enterprise Server elsewhere). */
  github: { authorizeUrl: string; tokenUrl: string; apiUrl: string } | undefined;
}

export class ProviderListError extends Error {
  override name = 'ProviderListError';
}

const ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const DEFAULT_SCOPES: Record<ProviderType, string[]> = {
  oidc: ['openid', 'email', 'profile'],
  google: ['openid', 'email', 'profile'],
  microsoft: ['openid', 'email', 'profile'],
  github: ['read:user', 'user:email'],
};
// Microsoft's multi-tenant endpoints issue tokens whose `iss` names each user's own tenant, which no
// single issuer check can accept: a tenant id (or domain) is required.
const MULTI_TENANT = new Set(['common', 'organizations']);
const KNOWN = new Set([
  'id',
  'type',
  'name',
  'issuer',
  'tenant',
  'client_id',
  'client_secret',
  'client_secret_env',
  'scopes',
  'trusted_for_linking',
  'github_urls',
]);

/**
 * Parses the file's text; `env` supplies the secrets `client_secret_env` names. An http:// issuer is
 * accepted only on loopback and only outside production (a provider run locally in development and tests).
 */
export function parseProviders(
  text: string,
  env: Record<string, string | undefined>,
  production: boolean,
): ProviderSettings[] {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw new ProviderListError('is not valid JSON');
  }
  if (!Array.isArray(list)) throw new ProviderListError('must hold a JSON array of providers');
  const seen = new Set<string>();
  return list.map((entry: unknown, i) => {
    const provider = parseOne(entry, `[${i}]`, env);
    if (production && provider.issuer?.startsWith('http:'))
      throw new ProviderListError(`[${i}].issuer must be an https URL in production`);
    if (production && Object.values(provider.github ?? {}).some((u) => u.startsWith('http:')))
      throw new ProviderListError(`[${i}].github_urls must be https URLs in production`);
    if (seen.has(provider.id)) throw new ProviderListError(`[${i}].id ${JSON.stringify(provider.id)} is used twice`);
    seen.add(provider.id);
    return provider;
  });
}

function parseOne(entry: unknown, at: string, env: Record<string, string | undefined>): ProviderSettings {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new ProviderListError(`${at} must be an object`);
  const e = entry as Record<string, unknown>;
  for (const key of Object.keys(e))
    if (!KNOWN.has(key)) throw new ProviderListError(`${at}.${key} is not a known field`);
  const str = (field: string, required: boolean): string | undefined => {
    const v = e[field];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.trim() === '')
      throw new ProviderListError(`${at}.${field} must be a non-empty string`);
    return v.trim();
  };
  const id = str('id', true)!;
  if (!ID.test(id))
    throw new ProviderListError(`${at}.id must be 1-32 characters of a-z, 0-9, _ and - (it appears in URLs)`);
  const type = str('type', true) as ProviderType;
  if (!TYPES.includes(type)) throw new ProviderListError(`${at}.type must be one of ${TYPES.join(', ')}`);
  const name = str('name', true)!;
  const clientId = str('client_id', true)!;
  const clientSecret = secretOf(e, at, env);
  let scopes = DEFAULT_SCOPES[type];
  if (e.scopes !== undefined) {
    if (
      !Array.isArray(e.scopes) ||
      e.scopes.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))
    ) {
      throw new ProviderListError(`${at}.scopes must be an array of scope strings`);
    }
    scopes = e.scopes as string[];
    if (type !== 'github' && !scopes.includes('openid'))
      throw new ProviderListError(`${at}.scopes must include "openid"`);
  }
  if (e.trusted_for_linking !== undefined && typeof e.trusted_for_linking !== 'boolean') {
    throw new ProviderListError(`${at}.trusted_for_linking must be true or false`);
  }
  return {
    id,
    type,
    name,
    clientId,
    clientSecret,
    scopes,
    issuer: issuerOf(type, at, str),
    trustedForLinking: e.trusted_for_linking === true,
    github: type === 'github' ? githubUrls(e.github_urls, at) : undefined,
  };
}

function secretOf(e: Record<string, unknown>, at: string, env: Record<string, string | undefined>): string {
  const inline = e.client_secret;
  const named = e.client_secret_env;
  if ((inline === undefined) === (named === undefined))
    throw new ProviderListError(`${at} needs exactly one of client_secret and client_secret_env`);
  if (inline !== undefined) {
    if (typeof inline !== 'string' || inline === '')
      throw new ProviderListError(`${at}.client_secret must be a non-empty string`);
    return inline;
  }
  if (typeof named !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(named))
    throw new ProviderListError(`${at}.client_secret_env must be an environment variable name`);
  const value = env[named];
  // The variable is named, its value never.
  if (!value) throw new ProviderListError(`${at}.client_secret_env names ${named}, which is not set`);
  return value;
}

function issuerOf(
  type: ProviderType,
  at: string,
  str: (f: string, r: boolean) => string | undefined,
): string | undefined {
  if (type === 'google') return 'https://accounts.google.com';
  if (type === 'microsoft') {
    const tenant = str('tenant', true)!;
    if (MULTI_TENANT.has(tenant.toLowerCase()) || !/^[A-Za-z0-9.-]+$/.test(tenant)) {
      throw new ProviderListError(
        `${at}.tenant must be a tenant id or domain (or "consumers"), not ${JSON.stringify(tenant)}`,
      );
    }
    return `https://login.microsoftonline.com/${tenant}/v2.0`;
  }
  if (type === 'github') return undefined;
  const issuer = str('issuer', true)!;
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new ProviderListError(`${at}.issuer must be a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new ProviderListError(
      `${at}.issuer must be an https URL (http only for localhost, in development and tests)`,
    );
  }
  return issuer;
}

function githubUrls(value: unknown, at: string): NonNullable<ProviderSettings['github']> {
  const urls = {
    authorizeUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    apiUrl: 'https://api.github.com',
  };
  if (value === undefined) return urls;
  if (typeof value !== 'object' || value === null) throw new ProviderListError(`${at}.github_urls must be an object`);
  const v = value as Record<string, unknown>;
  for (const [field, key] of [
    ['authorize', 'authorizeUrl'],
    ['token', 'tokenUrl'],
    ['api', 'apiUrl'],
  ] as const) {
    const u = v[field];
    if (typeof u !== 'string' || !URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol))
      throw new ProviderListError(`${at}.github_urls.${field} must be a URL`);
    if (new URL(u).protocol === 'http:' && !isLoopback(new URL(u).hostname))
      throw new ProviderListError(`${at}.github_urls.${field} must be https (http only for localhost)`);
    urls[key] = u.replace(/\/+$/, '');
  }
  return urls;
}

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}
