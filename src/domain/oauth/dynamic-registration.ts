// RFC 7591 dynamic client registration, for clients Tessera has never seen (MCP clients, AI agents). Anyone
// may call it, so it grants less than an admin registration: public clients only (no secret, no keys: PKCE
// is their proof), redirect URIs that are https or RFC 8252 loopback (the rules of redirect-uris.ts, without
// private-use schemes, which any app on a device may claim), scopes within DYNAMIC_REGISTRATION_SCOPES, no
// first-party flag (consent is always asked) and no resource list of its own (the registry applies). The
// client is stored by the one owner of clients (clients.ts), marked as dynamic; a dynamic client that holds
// no live grant past its TTL is deleted by the purge job, so abandoned registrations don't pile up.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import type { RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { ClientMetadataInput } from './client-metadata.js';
import type { OAuthClient, OAuthClients } from './clients.js';
import { purgeUnusedClients, type ClientMark } from './unused-clients.js';

const DYNAMIC: ClientMark = { table: 'oauth_dynamic_registrations', since: 'registered_at', keepDisabled: false };

export interface DynamicRegistrationPolicy {
  /** The scopes a dynamic client may be given (DYNAMIC_REGISTRATION_SCOPES). */
  scopes: string[];
  /** Days a dynamic client without a live grant is kept. */
  ttlDays: number;
}

/** What a caller sends (RFC 7591 §2); anything not named here is ignored, as §2 says. */
export interface DynamicRegistrationRequest {
  redirect_uris: string[];
  client_name?: string | undefined;
  token_endpoint_auth_method?: string | undefined;
  grant_types?: string[] | undefined;
  response_types?: string[] | undefined;
  scope?: string | undefined;
  [other: string]: unknown;
}

/** Metadata only an admin may set: refused rather than silently dropped, so the caller knows. */
const ADMIN_ONLY = ['first_party', 'resources', 'jwks', 'jwks_uri', 'post_logout_redirect_uris'] as const;

const refuse = (message: string) => new DomainError('invalid_client_metadata', { message });

/** The admin-registration input this request stands for, or invalid_client_metadata / invalid_redirect_uri. Pure. */
function dynamicClientInput(req: DynamicRegistrationRequest, policy: DynamicRegistrationPolicy): ClientMetadataInput {
  for (const field of ADMIN_ONLY)
    if (req[field] !== undefined) throw refuse(`${field} can not be registered dynamically`);
  const method = req.token_endpoint_auth_method ?? 'none';
  if (method !== 'none') throw refuse('token_endpoint_auth_method must be none: dynamic clients are public (PKCE)');
  for (const uri of req.redirect_uris)
    if (!/^https:\/\//.test(uri) && !/^http:\/\//.test(uri))
      throw new DomainError('invalid_redirect_uri', {
        message: 'redirect URIs of a dynamic client must be https or loopback http',
      });
  const offline = policy.scopes.includes('offline_access');
  const grantTypes = [...new Set(req.grant_types ?? ['authorization_code', ...(offline ? ['refresh_token'] : [])])];
  if (grantTypes.includes('refresh_token') && !offline)
    throw refuse('grant_types may not include refresh_token: offline_access is not offered to dynamic clients');
  const asked = (req.scope ?? '').split(' ').filter(Boolean);
  const unknown = asked.filter((s) => !policy.scopes.includes(s));
  if (unknown.length > 0) throw refuse(`scope ${unknown.join(' ').slice(0, 200)} is not offered to dynamic clients`);
  // The client is given every offered scope: what a user grants is decided on the consent page, per request.
  const scopes = policy.scopes.filter((s) => s !== 'offline_access' || grantTypes.includes('refresh_token'));
  return {
    client_name: (req.client_name ?? '').trim() || 'Unnamed application',
    redirect_uris: req.redirect_uris,
    token_endpoint_auth_method: 'none',
    grant_types: grantTypes,
    response_types: req.response_types,
    scope: scopes.join(' '),
  };
}

export class DynamicRegistrations {
  constructor(
    private readonly clients: OAuthClients,
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly policy: DynamicRegistrationPolicy,
    private readonly clock: Clock,
  ) {}

  /** Registers a public client for an anonymous caller (audited as dynamic_registration). */
  async register(req: DynamicRegistrationRequest, meta: RequestMeta): Promise<OAuthClient> {
    const input = dynamicClientInput(req, this.policy);
    const { client } = await this.clients.register(input, { kind: 'registration' }, meta, { dynamicFrom: meta.ip });
    return client;
  }

  /** Deletes dynamic clients older than the TTL that hold no live grant (unused-clients.ts); returns how many. */
  async purge(): Promise<number> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - this.policy.ttlDays * 86_400_000);
    return purgeUnusedClients(this.sql, DYNAMIC, cutoff, now);
  }

  /** Whether the client was registered dynamically (the consent page says so). */
  async isDynamic(clientId: string): Promise<boolean> {
    return (await this.db.dynamicRegistration.count({ where: { clientId } })) > 0;
  }
}
