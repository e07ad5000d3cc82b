// OAuth clients in the database: register, read, replace, disable, delete, every change audited with its
// actor. A secret is 256 random bits shown once; only its SHA-256 is kept (service-clients.ts's reasoning:
// nothing to guess, so no slow hash). Disabling or deleting a client ends every grant it holds (its sessions)
// and forgets every consent given to it, in the transaction that changes the client.
import type { JSONWebKeySet } from 'jose';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { actorName, type Actor } from '../actor.js';
import { endSessions, type EndedSession, type SessionEnd } from '../sessions/session-end.js';
import { LOCKING_TX } from '../transactions.js';
import { hashClientSecret, newClientId, newClientSecret } from '../tokens/service-clients.js';
import {
  checkClientMetadata,
  type AuthMethod,
  type ClientMetadata,
  type ClientMetadataInput,
} from './client-metadata.js';

export interface OAuthClient extends ClientMetadata {
  id: string;
  secretHash: string | null;
  createdAt: Date;
  updatedAt: Date;
  disabledAt: Date | null;
  /** Bumped by every change to the row (secret, keys, metadata, disable): see client-version.ts. */
  version: number;
}

const usesSecret = (m: AuthMethod) => m === 'client_secret_basic' || m === 'client_secret_post';

type Row = Prisma.OAuthClientGetPayload<object>;
const fromRow = (r: Row): OAuthClient => ({
  id: r.id,
  name: r.name,
  authMethod: r.authMethod as AuthMethod,
  secretHash: r.secretHash,
  jwks: (r.jwks as unknown as JSONWebKeySet | null) ?? null,
  redirectUris: r.redirectUris,
  postLogoutRedirectUris: r.postLogoutRedirectUris,
  grantTypes: r.grantTypes,
  scopes: r.scopes,
  resources: r.resources,
  firstParty: r.firstParty,
  requirePar: r.requirePar,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  disabledAt: r.disabledAt,
  version: r.version,
});

/**
 * A client as RFC 7591 §3.2.1 / RFC 7592 name its fields: what /admin/clients answers and what
 * `npm run clients` prints. `secret` is given only by the call that made it (shown once).
 */
export function registrationOf(c: OAuthClient, secret: string | null = null) {
  return {
    client_id: c.id,
    ...(secret ? { client_secret: secret } : {}),
    client_id_issued_at: Math.floor(c.createdAt.getTime() / 1000),
    client_name: c.name,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    token_endpoint_auth_method: c.authMethod,
    grant_types: c.grantTypes,
    response_types: ['code'],
    scope: c.scopes.join(' '),
    ...(c.jwks ? { jwks: c.jwks as { keys: Record<string, unknown>[] } } : {}),
    resources: c.resources,
    first_party: c.firstParty,
    require_pushed_authorization_requests: c.requirePar,
    disabled: c.disabledAt !== null,
  };
}

type Tx = Prisma.TransactionClient;

/**
 * Ends every grant of the client (optionally of one user) and forgets the consents; returns the sessions
 * ended and the number of consents forgotten, by this call (a concurrent call that got there first leaves
 * it none: both statements re-check under the row lock). The end writes the audit row (session-end.ts):
 * which client, who acted, how many grants ended.
 */
export async function endClientGrants(
  tx: Tx,
  clientId: string,
  end: Pick<SessionEnd, 'reason' | 'by'>,
  meta: RequestMeta,
  now: Date,
  userId?: string,
): Promise<{ ended: EndedSession[]; forgotten: number }> {
  const live = await tx.session.findMany({
    where: { clientId, revokedAt: null, ...(userId ? { userId } : {}) },
    select: { id: true },
  });
  const ended = await endSessions(
    tx,
    { which: { ids: live.map((s) => s.id), ...(userId ? { userId } : {}) }, ...end, note: `client ${clientId}` },
    meta,
    now,
  );
  const forgotten = await tx.oAuthConsent.deleteMany({ where: { clientId, ...(userId ? { userId } : {}) } });
  return { ended, forgotten: forgotten.count };
}

/**
 * Locks a client's row for the rest of the transaction, or throws not_found. Every change to a client takes it
 * first: a deletion committing meanwhile is waited for, and then the change answers not_found instead of
 * failing on a row that is gone; a disable takes it before the client's grants, as a deletion does, or the two
 * would deadlock.
 */
async function lockClient(tx: Pick<Prisma.TransactionClient, '$queryRaw'>, id: string): Promise<void> {
  const found = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM oauth_clients WHERE id = ${id} FOR UPDATE`;
  if (found.length === 0) throw new DomainError('not_found');
}

export class OAuthClients {
  constructor(
    private readonly db: PrismaClient,
    private readonly clock: Clock,
  ) {}

  async get(id: string): Promise<OAuthClient | null> {
    if (id.length > 128) return null;
    const row = await this.db.oAuthClient.findUnique({ where: { id } });
    return row ? fromRow(row) : null;
  }

  /** The client if it exists and is not disabled. */
  async active(id: string): Promise<OAuthClient | null> {
    const client = await this.get(id);
    return client && !client.disabledAt ? client : null;
  }

  async list(): Promise<OAuthClient[]> {
    const rows = await this.db.oAuthClient.findMany({ orderBy: { createdAt: 'asc' }, take: 500 });
    return rows.map(fromRow);
  }

  /**
   * Registers a client; the secret (for a secret method) is returned here and never again. `dynamicFrom`:
   * registered by anyone at /oauth/register (dynamic-registration.ts), from this address.
   */
  async register(
    input: ClientMetadataInput,
    actor: Actor,
    meta: RequestMeta,
    opts: { dynamicFrom?: string } = {},
  ): Promise<{ client: OAuthClient; secret: string | null }> {
    const m = checkClientMetadata(input);
    const now = this.clock.now();
    const id = newClientId();
    const secret = usesSecret(m.authMethod) ? newClientSecret() : null;
    const row = await this.db.$transaction(async (tx) => {
      const created = await tx.oAuthClient.create({
        data: {
          id,
          ...this.data(m),
          secretHash: secret ? hashClientSecret(secret) : null,
          createdAt: now,
          updatedAt: now,
        },
      });
      if (opts.dynamicFrom !== undefined)
        await tx.dynamicRegistration.create({
          data: { clientId: id, registeredAt: now, ip: opts.dynamicFrom || null },
        });
      await audit(tx, meta, now, { type: 'oauth_client_registered', reason: `client ${id} by ${actorName(actor)}` });
      return created;
    });
    return { client: fromRow(row), secret };
  }

  /**
   * Replaces the metadata (RFC 7592 PUT). A client moving to a secret method from another gets a new
   * secret (returned once); one that keeps a secret method keeps its secret.
   */
  async replace(
    id: string,
    input: ClientMetadataInput,
    actor: Actor,
    meta: RequestMeta,
  ): Promise<{ client: OAuthClient; secret: string | null }> {
    const m = checkClientMetadata(input);
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      await lockClient(tx, id);
      const current = (await tx.oAuthClient.findUnique({ where: { id } }))!;
      const keep = usesSecret(m.authMethod) && current.secretHash !== null;
      const secret = usesSecret(m.authMethod) && !keep ? newClientSecret() : null;
      const row = await tx.oAuthClient.update({
        where: { id },
        data: {
          ...this.data(m),
          secretHash: keep ? current.secretHash : secret ? hashClientSecret(secret) : null,
          updatedAt: now,
          version: { increment: 1 },
        },
      });
      await audit(tx, meta, now, { type: 'oauth_client_updated', reason: `client ${id} by ${actorName(actor)}` });
      return { client: fromRow(row), secret };
    }, LOCKING_TX);
  }

  /**
   * Gives a secret client a new secret (returned here and never again); the old one stops at once, on every
   * instance (the version moves: src/domain/sessions/client-version.ts). not_found for a client without a secret.
   */
  async rotateSecret(id: string, actor: Actor, meta: RequestMeta): Promise<{ client: OAuthClient; secret: string }> {
    const now = this.clock.now();
    const secret = newClientSecret();
    return this.db.$transaction(async (tx) => {
      await lockClient(tx, id);
      const found = (await tx.oAuthClient.findUnique({ where: { id } }))!;
      if (!usesSecret(found.authMethod as AuthMethod)) throw new DomainError('not_found');
      const row = await tx.oAuthClient.update({
        where: { id },
        data: { secretHash: hashClientSecret(secret), updatedAt: now, version: { increment: 1 } },
      });
      await audit(tx, meta, now, {
        type: 'oauth_client_secret_rotated',
        reason: `client ${id} by ${actorName(actor)}`,
      });
      return { client: fromRow(row), secret };
    }, LOCKING_TX);
  }

  /** Disables (or enables) a client. Disabling ends its grants and forgets its consents. */
  async setDisabled(id: string, disabled: boolean, actor: Actor, meta: RequestMeta): Promise<OAuthClient> {
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      await lockClient(tx, id);
      const row = await tx.oAuthClient.update({
        where: { id },
        data: { disabledAt: disabled ? now : null, updatedAt: now, version: { increment: 1 } },
      });
      if (disabled)
        await endClientGrants(tx, id, { reason: 'client_disabled', by: { kind: 'admin', actor } }, meta, now);
      else await audit(tx, meta, now, { type: 'oauth_client_enabled', reason: `client ${id} by ${actorName(actor)}` });
      return fromRow(row);
    }, LOCKING_TX);
  }

  /** Deletes a client, its grants and its consents. */
  async delete(id: string, actor: Actor, meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      await lockClient(tx, id);
      await endClientGrants(tx, id, { reason: 'client_deleted', by: { kind: 'admin', actor } }, meta, now);
      await tx.authorizationCode.deleteMany({ where: { clientId: id } });
      await tx.oAuthClient.delete({ where: { id } });
    }, LOCKING_TX);
  }

  private data(m: ClientMetadata) {
    return {
      name: m.name,
      authMethod: m.authMethod,
      jwks: m.jwks ? (m.jwks as unknown as Prisma.InputJsonValue) : Prisma.DbNull,
      redirectUris: m.redirectUris,
      postLogoutRedirectUris: m.postLogoutRedirectUris,
      grantTypes: m.grantTypes,
      scopes: m.scopes,
      resources: m.resources,
      firstParty: m.firstParty,
      requirePar: m.requirePar,
    };
  }
}
