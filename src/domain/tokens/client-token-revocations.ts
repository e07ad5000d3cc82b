// Revoking a client_credentials token (RFC 7009 through /oauth/revoke). No session stands behind one, so
// its jti goes on a denylist until the token's own exp: ClientTokens.verify, the one place client tokens are
// verified (for /admin and for introspection alike), refuses a listed jti. The lookup is one primary-key
// read and only client tokens pay it: user tokens (the /auth/me hot path) never reach it. Rows past their
// exp are deleted by the next revocation, so the table holds at most the tokens revoked within one
// ACCESS_TOKEN_TTL_SECONDS.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';

const PURGE_BATCH = 500;

export class ClientTokenRevocations {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  async isRevoked(jti: string): Promise<boolean> {
    const rows = await this.sql.query<{ one: number }>('SELECT 1 AS one FROM revoked_client_tokens WHERE jti = $1', [
      jti,
    ]);
    return rows.length > 0;
  }

  /**
   * Lists the token (a verified client token's jti, client and exp) as revoked; true if this call did it.
   * Audited with the revoking client, in the same transaction.
   */
  async revoke(
    token: { jti: string; client_id: string; exp: number },
    byClientId: string,
    meta: RequestMeta,
  ): Promise<boolean> {
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      await tx.$executeRaw`
        DELETE FROM revoked_client_tokens WHERE jti IN (
          SELECT jti FROM revoked_client_tokens WHERE expires_at < ${now} LIMIT ${PURGE_BATCH})`;
      const inserted = await tx.$queryRaw<{ jti: string }[]>`
        INSERT INTO revoked_client_tokens (jti, client_id, expires_at, revoked_at)
        VALUES (${token.jti}, ${token.client_id}, ${new Date(token.exp * 1000)}, ${now})
        ON CONFLICT (jti) DO NOTHING RETURNING jti`;
      if (inserted.length === 0) return false;
      await audit(tx, meta, now, {
        type: 'token_revoked',
        reason: `client token of ${token.client_id} by client ${byClientId}`.slice(0, 500),
      });
      return true;
    });
  }
}
