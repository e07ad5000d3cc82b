// RFC 9728 protected-resource metadata: how a client that holds no token learns which authorization server
// guards a resource and which scopes it knows. The document lives at the resource's URL with
// `/.well-known/oauth-protected-resource` inserted before its path (§3.1), and every refusal points at it in
// the WWW-Authenticate challenge (§5.1), next to the scopes the request needs (RFC 6750 §3). This is what an MCP
// client follows after a 401. Pure: the Fastify plugin (fastify.ts) serves the document and writes the challenges.

export interface ResourceMetadataOptions {
  /**
   * This resource's identifier, an https URL (http on loopback for development): what clients send as RFC 8707
   * `resource` and what Tessera then writes in `aud`. It must be one of the verifier's `audience` values.
   */
  resource: string;
  /** The authorization servers that issue tokens for it. Default: [issuer]. */
  authorizationServers?: string[];
  /** The scopes this resource understands (published as `scopes_supported`). */
  scopesSupported?: string[];
  /** A human-readable name (`resource_name`). */
  resourceName?: string;
}

/** The RFC 9728 §2 document. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: ['header'];
  scopes_supported?: string[];
  resource_name?: string;
}

export interface ResolvedResourceMetadata {
  document: ProtectedResourceMetadata;
  /** Where the document is served: its full URL and the path alone. */
  url: string;
  path: string;
}

const LOOPBACK = ['127.0.0.1', '[::1]', 'localhost'];
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/; // RFC 6749 §3.3 scope-token

function fail(message: string): never {
  throw new TypeError(`@tessera/verify: ${message}`);
}

/** RFC 9728 §3.1: the metadata URL of a resource identifier. */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

/** Checks the options (boot-time TypeError) and builds the document. */
export function resolveResourceMetadata(
  options: ResourceMetadataOptions,
  issuer: string,
  audiences: readonly string[],
): ResolvedResourceMetadata {
  if (typeof options !== 'object' || options === null) fail('resourceMetadata must be an object');
  let url: URL;
  try {
    url = new URL(options.resource);
  } catch {
    fail(`resourceMetadata.resource must be an absolute URL, got ${JSON.stringify(options.resource)}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.includes(url.hostname)))
    fail('resourceMetadata.resource must be https (or http on a loopback host)');
  if (url.hash || url.search) fail('resourceMetadata.resource must have no query or fragment');
  if (!audiences.includes(options.resource))
    fail('resourceMetadata.resource must be one of audience: tokens for it carry it in aud');
  const servers = options.authorizationServers ?? [issuer];
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((s) => typeof s === 'string' && s.length > 0))
    fail('resourceMetadata.authorizationServers must be a non-empty array of issuer URLs');
  const scopes = options.scopesSupported;
  if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && SCOPE.test(s))))
    fail('resourceMetadata.scopesSupported must be an array of scope names');
  const metadataUrl = resourceMetadataUrl(options.resource);
  return {
    document: {
      resource: options.resource,
      authorization_servers: [...servers],
      bearer_methods_supported: ['header'],
      ...(scopes ? { scopes_supported: [...scopes] } : {}),
      ...(options.resourceName ? { resource_name: options.resourceName } : {}),
    },
    url: metadataUrl,
    path: new URL(metadataUrl).pathname,
  };
}

const quoted = (value: string) => `"${value.replace(/["\\]/g, '')}"`;

/**
 * A Bearer challenge (RFC 6750 §3, RFC 9728 §5.1): `error` and its description when the request carried a
 * token, `scope` when the route needs scopes, `resource_metadata` when the resource publishes its metadata.
 */
export function bearerChallenge(attrs: {
  error?: string | undefined;
  description?: string | undefined;
  scope?: string | undefined;
  resourceMetadata?: string | undefined;
  /** RFC 9470 §3: the levels and the age of authentication the request needs. */
  acrValues?: string | undefined;
  maxAge?: number | undefined;
}): string {
  const parts: string[] = [];
  if (attrs.error) parts.push(`error=${quoted(attrs.error)}`);
  if (attrs.error && attrs.description) parts.push(`error_description=${quoted(attrs.description)}`);
  if (attrs.scope) parts.push(`scope=${quoted(attrs.scope)}`);
  if (attrs.resourceMetadata) parts.push(`resource_metadata=${quoted(attrs.resourceMetadata)}`);
  if (attrs.acrValues) parts.push(`acr_values=${quoted(attrs.acrValues)}`);
  if (attrs.maxAge !== undefined) parts.push(`max_age=${attrs.maxAge}`);
  return parts.length ? `Bearer ${parts.join(', ')}` : 'Bearer';
}
