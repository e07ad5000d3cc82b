// RFC 8707 resource indicators: which resources (access-token audiences) a client may name, and what a token
// request may ask for within a grant. The registry is configuration (src/config-resources.ts says why); a
// client registered by an admin with its own `resources` list is held to that list, any other client (a
// dynamically registered one included) may name any registered resource. Pure, so every rule is a unit.
import { DomainError } from '../domain-error.js';
import type { OAuthClient } from './clients.js';

export interface ResourceRegistry {
  /** Tessera's AUDIENCE: the audience of a grant whose request named no resource, for a client without a list. */
  fallback: string[];
  /** The registered resources (RESOURCES). */
  registered: string[];
}

/** The resources this client may name in `resource`. */
export function allowedResources(client: Pick<OAuthClient, 'resources'>, registry: ResourceRegistry): string[] {
  return client.resources.length > 0 ? client.resources : registry.registered;
}

/**
 * The audience of an authorization request: the named resource when the client may name it, the client's
 * first resource or Tessera's AUDIENCE when none is named; null when the resource is not allowed (invalid_target).
 */
export function requestAudience(
  client: Pick<OAuthClient, 'resources'>,
  registry: ResourceRegistry,
  resource: string | null,
): string[] | null {
  if (resource === null) return client.resources.length > 0 ? [client.resources[0]!] : registry.fallback;
  return allowedResources(client, registry).includes(resource) ? [resource] : null;
}

/**
 * The audience of a token request (RFC 8707 §2.2) within a grant's audience: the named resource only if the
 * grant holds it (a refresh narrows, never widens), else the grant's own. Throws invalid_target.
 */
export function narrowAudience(granted: string[], resource: string | undefined): string[] {
  if (resource === undefined) return granted;
  if (!granted.includes(resource))
    throw new DomainError('invalid_target', {
      message: 'The resource was not granted to this authorization.',
      detail: `resource ${resource.slice(0, 100)} outside the grant`,
    });
  return [resource];
}
