// Authorization codes (RFC 6749 §4.1, OAuth 2.1 §4.1.3): 256 random bits, only the SHA-256 stored, 60 seconds,
// bound to the client, the redirect URI and the PKCE challenge. Redeeming one is ONE statement: the UPDATE
// that marks it used (only if unused, unexpired and every binding holds) starts the grant's session and writes
// the audit row in the same statement, and reads what the tokens need. Of any number of concurrent
// redemptions exactly one UPDATE matches. When nothing matched and the code had been used, it was presented
// twice: the grant it started ends (§4.1.2: revoke the tokens issued from it), committed although the request fails.
// An authorization request (its client and PKCE challenge) gets one code only: the unique index on the two makes
// the INSERT the one statement that completes it, so an approval posted again, or in parallel, mints nothing.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { clipUserAgent, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { liveSql, sessionDeadline, type SessionLimits } from '../sessions/session-state.js';
import { endSessions } from '../sessions/session-end.js';
import { LOCKING_TX } from '../transactions.js';
import { deleteBefore } from '../batches.js';
import { clientAtVersionSql, type ClientAtVersion } from '../sessions/client-version.js';
import { rolesOf, rolesSql } from '../sessions/user-claims.js';

const CODE_TTL_SECONDS = 60;
const CODE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

const hashOf = (code: string) => createHash('sha256').update(code, 'utf8').digest('base64url');

/** RFC 7636 §4.6: BASE64URL(SHA256(verifier)); the verifier's shape is §4.1's. */
function s256(verifier: string): string | null {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return null;
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export interface CodeGrant {
  clientId: string;
  userId: string;
  browserSessionId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string[];
  audience: string[];
  nonce: string | null;
  authTime: Date;
  idp: string | null;
  /** How the user signed in (the browser session's amr); null: a session from before it was kept. */
  amr: string[] | null;
}

export interface Redeemed {
  userId: string;
  grantSessionId: string;
  browserSessionId: string;
  scope: string[];
  audience: string[];
  nonce: string | null;
  authTime: Date;
  idp: string | null;
  amr: string[] | null;
  email: string;
  emailVerified: boolean;
  roles: string[];
  refreshExpiresAt: Date;
}

export interface CodeSettings extends SessionLimits {
  /** A grant without offline_access lives as long as its access token. */
  accessTokenTtlSeconds: number;
}

// The client must still be enabled and unchanged since it was authenticated (client-version.ts), checked by the
// UPDATE itself so that a stale client spends nothing (the request is then answered again from a fresh read);
// the user must still be enabled, and the browser session that approved the code still live (a sign-out, "end
// all sessions" or an admin's factor reset in the code's 60 s stops it too). The session starts with counter 0
// (refresh-tokens.ts).
const REDEEM = `
WITH c AS (
  UPDATE oauth_codes SET used_at = $5::timestamptz, grant_session_id = $6::uuid
  WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $5::timestamptz
    AND client_id = $2 AND redirect_uri = $3 AND code_challenge = $4
    AND ($12::text IS NULL OR $12::text = ANY (string_to_array(audience, ' ')))
    AND ${clientAtVersionSql('$2', '$13')}
    AND EXISTS (SELECT 1 FROM sessions b WHERE b.id = oauth_codes.browser_session_id AND ${liveSql('b', '$5')})
  RETURNING user_id, browser_session_id, scope, audience, nonce, auth_time, idp, amr
), u AS (
  SELECT c.*, users.email, users.email_verified_at IS NOT NULL AS email_verified
  FROM c JOIN users ON users.id = c.user_id AND users.disabled_at IS NULL
), s AS (
  INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, refresh_counter, rotated_at,
                        user_agent, ip, idp, client_id, scope, audience, amr)
  SELECT $6::uuid, user_id, $5::timestamptz, $5::timestamptz,
         CASE WHEN ' ' || scope || ' ' LIKE '% offline_access %' THEN $7::timestamptz ELSE $8::timestamptz END,
         0, $5::timestamptz, $9, $10, idp, $2, scope, audience, amr
  FROM u RETURNING expires_at
), a AS (
  INSERT INTO audit_events (type, user_id, session_id, reason, ip, user_agent, request_id, created_at)
  SELECT 'oauth_code_redeemed', user_id, $6::uuid, 'client ' || $2, $10, $9, $11, $5::timestamptz FROM u
)
SELECT user_id::text AS user_id, browser_session_id::text AS browser_session_id, scope, audience, nonce,
  auth_time, idp, amr, email, email_verified, (SELECT expires_at FROM s) AS expires_at,
  ${rolesSql('u.user_id')} AS roles
FROM u`;

interface RedeemRow {
  user_id: string;
  browser_session_id: string;
  scope: string;
  audience: string;
  nonce: string | null;
  auth_time: Date;
  idp: string | null;
  amr: string[] | null;
  email: string;
  email_verified: boolean;
  expires_at: Date;
  roles: string | null;
}

export class AuthorizationCodes {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly settings: CodeSettings,
    private readonly clock: Clock,
  ) {}

  /** A new code for this grant (returned once; only its hash is kept); null: this request already has its code. */
  async issue(grant: CodeGrant, meta: RequestMeta): Promise<string | null> {
    const code = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    try {
      await this.issueRows(code, grant, meta, now);
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 'P2002') return null;
      throw err;
    }
    return code;
  }

  private async issueRows(code: string, grant: CodeGrant, meta: RequestMeta, now: Date): Promise<void> {
    await this.db.$transaction([
      this.db.authorizationCode.create({
        data: {
          codeHash: hashOf(code),
          clientId: grant.clientId,
          userId: grant.userId,
          browserSessionId: grant.browserSessionId,
          redirectUri: grant.redirectUri,
          codeChallenge: grant.codeChallenge,
          scope: grant.scope.join(' '),
          audience: grant.audience.join(' '),
          nonce: grant.nonce,
          authTime: grant.authTime,
          idp: grant.idp,
          ...(grant.amr ? { amr: grant.amr } : {}),
          createdAt: now,
          expiresAt: new Date(now.getTime() + CODE_TTL_SECONDS * 1000),
        },
      }),
      this.db.auditEvent.create({
        data: {
          type: 'oauth_code_issued',
          userId: grant.userId,
          sessionId: grant.browserSessionId,
          reason: `client ${grant.clientId}`,
          ip: meta.ip,
          userAgent: clipUserAgent(meta.userAgent),
          requestId: meta.requestId,
          createdAt: now,
        },
      }),
    ]);
  }

  /**
   * Spends a code for the client that proves who it is, with the redirect URI and verifier of the
   * authorization request. Throws invalid_grant on any mismatch; ends the grant of a code presented again.
   */
  async redeem(
    code: string,
    client: ClientAtVersion,
    redirectUri: string,
    verifier: string,
    meta: RequestMeta,
    resource?: string,
  ): Promise<Redeemed> {
    const challenge = s256(verifier);
    if (!CODE_SHAPE.test(code) || challenge === null)
      throw new DomainError('invalid_grant', { detail: 'malformed code or code_verifier' });
    const now = this.clock.now();
    const grantSessionId = randomUUID();
    const clientId = client.id;
    const [won] = await this.sql.query<RedeemRow>(REDEEM, [
      hashOf(code),
      clientId,
      redirectUri,
      challenge,
      now.toISOString(),
      grantSessionId,
      sessionDeadline(this.settings, now, now).toISOString(),
      new Date(now.getTime() + this.settings.accessTokenTtlSeconds * 1000).toISOString(),
      clipUserAgent(meta.userAgent),
      meta.ip,
      meta.requestId,
      resource ?? null,
      client.version,
    ]);
    if (won) {
      return {
        userId: won.user_id,
        grantSessionId,
        browserSessionId: won.browser_session_id,
        scope: won.scope.split(' ').filter(Boolean),
        audience: won.audience.split(' ').filter(Boolean),
        nonce: won.nonce,
        authTime: won.auth_time,
        idp: won.idp,
        amr: won.amr,
        email: won.email,
        emailVerified: won.email_verified,
        roles: rolesOf(won.roles),
        refreshExpiresAt: won.expires_at,
      };
    }
    await this.afterMiss(hashOf(code), meta, resource);
    throw new DomainError('invalid_grant', { detail: `code refused for client ${clientId}` });
  }

  /**
   * Nothing matched: a code used before was presented again, so its grant ends (audited). A code still
   * unused whose grant does not hold the `resource` asked for is invalid_target (RFC 8707 §2.2), and stays
   * redeemable: the client may ask again for a resource it was granted.
   */
  private async afterMiss(codeHash: string, meta: RequestMeta, resource: string | undefined): Promise<void> {
    const row = await this.db.authorizationCode.findUnique({
      where: { codeHash },
      select: { usedAt: true, grantSessionId: true, userId: true, clientId: true, audience: true },
    });
    if (row && !row.usedAt && resource !== undefined && !row.audience.split(' ').includes(resource))
      throw new DomainError('invalid_target', {
        message: 'The resource was not granted to this authorization.',
        detail: `resource outside the code's grant for client ${row.clientId}`,
      });
    if (!row?.usedAt || !row.grantSessionId) return;
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      // The end writes the audit row (oauth_code_replayed: the client, how many grants ended).
      await endSessions(
        tx,
        {
          which: { ids: [row.grantSessionId!], userId: row.userId },
          reason: 'authorization_code_replayed',
          by: { kind: 'client', clientId: row.clientId },
        },
        meta,
        now,
      );
    }, LOCKING_TX);
  }

  /**
   * Deletes codes expired for a day (the purge job): a code presented again within that day still ends the grant
   * it started (§4.1.2); after it, the code is refused as unknown, and its client and PKCE challenge are free
   * again. Returns how many went.
   */
  purge(): Promise<number> {
    return deleteBefore(this.sql, 'oauth_codes', 'expires_at', new Date(this.clock.now().getTime() - 86_400_000));
  }
}
