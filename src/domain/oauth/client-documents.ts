// Client ID Metadata Documents, stored and cached: the client a URL client_id names, fetched when Tessera
// has no fresh copy and kept in oauth_clients under the URL (so codes, consents, grants, connected apps and
// admin disable work as for any client), with its cache lifetime beside it. An admin's disable sticks: a
// re-fetch replaces the metadata, never disabledAt. Concurrent requests for one URL without a fresh copy
// share one fetch in this process (so 50 authorizations at once fetch once per instance). Each fetch is
// counted first against the requesting address and the target host (document-fetch-limits.ts: shared by
// every instance); a refused fetch or document is remembered for a short while (document-failures.ts) and
// the client is refused, so a broken document never falls back to an old copy. A document client not
// fetched for the TTL that holds no live grant is deleted by the purge job (unused-clients.ts).
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { OAuthClient, OAuthClients } from './clients.js';
import {
  cacheSeconds,
  clientIdUrlProblem,
  documentClient,
  isDocumentClientId,
  type CacheBounds,
} from './client-document.js';
import { DocumentFetchRefused, type FetchedDocument } from './client-document-fetch.js';
import type { DocumentFailures } from './document-failures.js';
import type { DocumentFetchLimits } from './document-fetch-limits.js';
import { purgeUnusedClients, type ClientMark } from './unused-clients.js';
import type { Sql } from '../../db/sql.js';

const DOCUMENTS: ClientMark = { table: 'oauth_client_metadata_documents', since: 'fetched_at', keepDisabled: true };

export interface DocumentClientPolicy extends CacheBounds {
  scopes: string[];
  /** Days a document client not fetched since and holding no live grant is kept. */
  ttlDays: number;
}

/** What ClientDocuments is built from besides the policy. */
export interface DocumentDeps {
  db: PrismaClient;
  sql: Sql;
  clients: OAuthClients;
  fetch: (url: string) => Promise<FetchedDocument>;
  limits: DocumentFetchLimits;
  failures: DocumentFailures;
  clock: Clock;
}

/** A client named by its document, or why not (a log detail), or a fetch over its limits (seconds to wait). */
export type Resolved = { client: OAuthClient } | { refused: string } | { limited: number };

export class ClientDocuments {
  private readonly inFlight = new Map<string, Promise<Resolved>>();

  private readonly db: PrismaClient;
  private readonly clients: OAuthClients;
  private readonly clock: Clock;

  constructor(
    private readonly deps: DocumentDeps,
    private readonly policy: DocumentClientPolicy,
  ) {
    this.db = deps.db;
    this.clients = deps.clients;
    this.clock = deps.clock;
  }

  /** Whether this client_id is one this feature answers for (an https URL). */
  handles(clientId: string): boolean {
    return isDocumentClientId(clientId);
  }

  /** The client the URL names (disabled or not: the caller decides), fetching its document when needed. */
  async resolve(clientId: string, meta: RequestMeta): Promise<Resolved> {
    const problem = clientIdUrlProblem(clientId);
    if (problem) return { refused: `client_id URL ${problem}` };
    const cached = await this.db.clientMetadataDocument.findUnique({ where: { clientId } });
    if (cached && cached.expiresAt > this.clock.now()) {
      const client = await this.clients.get(clientId);
      if (client) return { client };
    }
    const failed = this.deps.failures.recent(clientId, this.clock.now().getTime());
    if (failed !== null) return { refused: `refused recently: ${failed}` };
    let pending = this.inFlight.get(clientId);
    if (!pending) {
      pending = this.refresh(clientId, meta).finally(() => this.inFlight.delete(clientId));
      this.inFlight.set(clientId, pending);
    }
    return pending;
  }

  /** The client if its document is good and it is not disabled (the token endpoint's lookup). */
  async active(clientId: string, meta: RequestMeta): Promise<OAuthClient | null> {
    const found = await this.resolve(clientId, meta);
    return 'client' in found && !found.client.disabledAt ? found.client : null;
  }

  /** Deletes document clients not fetched for the TTL that hold no live grant (the purge job); how many. */
  async purge(): Promise<number> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - this.policy.ttlDays * 86_400_000);
    return purgeUnusedClients(this.deps.sql, DOCUMENTS, cutoff, now);
  }

  /** Deletes fetch counters whose window has ended (the purge job); how many. */
  purgeFetchCounts(): Promise<number> {
    return this.deps.limits.purge();
  }

  /** Refuses the client and remembers why for a while (the negative cache). */
  private fail(clientId: string, why: string): Resolved {
    this.deps.failures.remember(clientId, why, this.clock.now().getTime());
    return { refused: why };
  }

  private async refresh(clientId: string, meta: RequestMeta): Promise<Resolved> {
    const limited = await this.deps.limits.take(meta.ip, new URL(clientId).hostname);
    if (limited) return { limited: limited.retryAfter };
    let fetched: FetchedDocument;
    try {
      fetched = await this.deps.fetch(clientId);
    } catch (err) {
      if (err instanceof DocumentFetchRefused) return this.fail(clientId, `fetch refused: ${err.message}`);
      throw err;
    }
    let metadata: ReturnType<typeof documentClient>;
    try {
      metadata = documentClient(fetched.body, clientId, { scopes: this.policy.scopes });
    } catch (err) {
      if (err instanceof DomainError) return this.fail(clientId, `document refused: ${err.publicMessage ?? err.code}`);
      throw err;
    }
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + cacheSeconds(fetched.cacheControl, this.policy) * 1000);
    const data = {
      name: metadata.name,
      authMethod: metadata.authMethod,
      jwks: metadata.jwks ? (metadata.jwks as unknown as Prisma.InputJsonValue) : Prisma.DbNull,
      redirectUris: metadata.redirectUris,
      postLogoutRedirectUris: [],
      grantTypes: metadata.grantTypes,
      scopes: metadata.scopes,
      resources: [],
      firstParty: false,
      secretHash: null,
      updatedAt: now,
    };
    await this.db.$transaction(async (tx) => {
      const before = await tx.oAuthClient.findUnique({ where: { id: clientId } });
      await tx.oAuthClient.upsert({
        where: { id: clientId },
        create: { id: clientId, ...data, createdAt: now },
        update: { ...data, version: { increment: 1 } },
      });
      await tx.clientMetadataDocument.upsert({
        where: { clientId },
        create: { clientId, fetchedAt: now, expiresAt },
        update: { fetchedAt: now, expiresAt },
      });
      const changed =
        !before ||
        JSON.stringify([
          before.name,
          before.authMethod,
          before.redirectUris,
          before.grantTypes,
          before.scopes,
          before.jwks,
        ]) !==
          JSON.stringify([data.name, data.authMethod, data.redirectUris, data.grantTypes, data.scopes, metadata.jwks]);
      if (changed)
        await audit(tx, meta, now, {
          type: before ? 'oauth_client_updated' : 'oauth_client_registered',
          reason: `client ${clientId} by client_id_metadata_document`,
        });
    });
    const client = await this.clients.get(clientId);
    return client ? { client } : { refused: 'client vanished while it was stored' };
  }
}
