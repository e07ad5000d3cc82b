// Consent remembered per (user, client): the scopes the user agreed to. A new request within them needs no
// consent screen; one that asks for more shows it again. Connected apps: what a user granted, and revoking
// one ends its grants (sessions: refresh tokens stop, introspection says inactive) and forgets the consent,
// in one transaction, audited. Admins do the same per user or per client.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { LOCKING_TX } from '../transactions.js';
import { liveSql } from '../sessions/session-state.js';
import { endClientGrants } from './clients.js';
import type { SessionEnd } from '../sessions/session-end.js';

export interface ConnectedApp {
  clientId: string;
  name: string;
  scopes: string[];
  grantedAt: Date | null;
  lastUsedAt: Date | null;
}

const CONNECTED = `
SELECT k.id, k.name, co.scopes, co.granted_at, g.last_used
FROM oauth_clients k
LEFT JOIN oauth_consents co ON co.client_id = k.id AND co.user_id = $1::uuid
LEFT JOIN (
  SELECT s.client_id, max(s.last_used_at) AS last_used FROM sessions s
  WHERE s.user_id = $1::uuid AND s.client_id IS NOT NULL AND ${liveSql('s', '$2')} GROUP BY s.client_id
) g ON g.client_id = k.id
WHERE co.user_id IS NOT NULL OR g.client_id IS NOT NULL
ORDER BY k.name, k.id LIMIT 200`;

export class Consents {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** Whether the user already agreed to every one of these scopes for this client. */
  async covers(userId: string, clientId: string, scopes: string[]): Promise<boolean> {
    const row = await this.db.oAuthConsent.findUnique({ where: { userId_clientId: { userId, clientId } } });
    return !!row && scopes.every((s) => row.scopes.includes(s));
  }

  /** Remembers consent to these scopes (added to what was agreed before). */
  async remember(userId: string, clientId: string, scopes: string[], meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      const row = await tx.oAuthConsent.findUnique({ where: { userId_clientId: { userId, clientId } } });
      const all = [...new Set([...(row?.scopes ?? []), ...scopes])];
      await tx.oAuthConsent.upsert({
        where: { userId_clientId: { userId, clientId } },
        create: { userId, clientId, scopes: all, grantedAt: now },
        update: { scopes: all, grantedAt: now },
      });
      await audit(tx, meta, now, {
        type: 'oauth_consent_granted',
        userId,
        reason: `client ${clientId}: ${all.join(' ')}`,
      });
    });
  }

  /** The apps a user granted (a remembered consent or a live grant). */
  async connected(userId: string): Promise<ConnectedApp[]> {
    const rows = await this.sql.query<{
      id: string;
      name: string;
      scopes: string[] | null;
      granted_at: Date | null;
      last_used: Date | null;
    }>(CONNECTED, [userId, this.clock.now().toISOString()]);
    return rows.map((r) => ({
      clientId: r.id,
      name: r.name,
      scopes: r.scopes ?? [],
      grantedAt: r.granted_at,
      lastUsedAt: r.last_used,
    }));
  }

  /**
   * Ends the user's grants to a client and forgets the consent. False when there was nothing to revoke,
   * including when a concurrent revocation got there first: then nothing is written, not even the audit row.
   */
  async revoke(userId: string, clientId: string, by: SessionEnd['by'], meta: RequestMeta): Promise<boolean> {
    const now = this.clock.now();
    try {
      await this.db.$transaction(async (tx) => {
        // The end writes the audit row (oauth_grant_revoked: the client, who acted, how many grants ended).
        const { ended, forgotten } = await endClientGrants(
          tx,
          clientId,
          { reason: 'grant_revoked', by },
          meta,
          now,
          userId,
        );
        if (ended.length === 0 && forgotten === 0) throw new NothingToRevoke();
      }, LOCKING_TX);
      return true;
    } catch (err) {
      if (err instanceof NothingToRevoke) return false;
      throw err;
    }
  }
}

/** Rolls back a revocation that ended nothing, so it leaves no audit row. */
class NothingToRevoke extends Error {}
