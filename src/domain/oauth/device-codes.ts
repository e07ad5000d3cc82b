// The device authorization grant's codes (RFC 8628): a CLI or a TV asks for a pair of codes, the user approves
// the request on another screen, the device polls the token endpoint until it is decided.
//   device code  256 random bits, only its SHA-256 stored; what the device polls with.
//   user code    eight letters (user-codes.ts), only its hash stored; what the user types.
// The row is decided once (one UPDATE … WHERE status = 'pending'), and redeemed once: the success path is ONE
// statement that spends the row (only if approved, unspent, unexpired, polled no sooner than its interval, and
// only while the client, the account and the approving browser session are all still good), starts the grant's
// session and writes its audit row. Of any number of concurrent polls exactly one UPDATE matches. Every other
// poll goes through one more statement that remembers when it came (a poll sooner than the interval raises the
// interval by 5 s, RFC 8628 §3.5) and says why there are no tokens yet.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Sql } from '../../db/sql.js';
import { clipUserAgent, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { isUuid } from '../ids.js';
import { liveSql, sessionDeadline } from '../sessions/session-state.js';
import type { CodeSettings } from './authorization-codes.js';
import { newUserCode, userCodeHash } from './user-codes.js';
import { deleteBefore } from '../batches.js';
import { clientAtVersionSql, type ClientAtVersion } from '../sessions/client-version.js';
import { rolesOf, rolesSql } from '../sessions/user-claims.js';

/** How long a device code and its user code live (RFC 8628 `expires_in`). */
export const DEVICE_CODE_TTL_SECONDS = 600;
const DEVICE_POLL_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: what slow_down adds to the interval. */
const SLOW_DOWN_SECONDS = 5;
const DEVICE_CODE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

const hashOf = (code: string) => createHash('sha256').update(code, 'utf8').digest('base64url');

/** What the device is told (RFC 8628 §3.2), before the URIs are added. */
export interface DeviceAuthorization {
  deviceCode: string;
  /** Canonical: eight letters, no dash. */
  userCode: string;
  expiresIn: number;
  interval: number;
}

/** What the verification page shows about a pending request. */
export interface PendingDevice {
  id: string;
  clientId: string;
  clientName: string;
  scope: string[];
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
}

/** What the token response needs from a redeemed device code. */
export interface RedeemedDevice {
  userId: string;
  grantSessionId: string;
  browserSessionId: string;
  scope: string[];
  audience: string[];
  authTime: Date;
  idp: string | null;
  /** How the approving browser session signed in (its amr); null: a session from before it was kept. */
  amr: string[] | null;
  email: string;
  emailVerified: boolean;
  roles: string[];
}

const INSERT = `
INSERT INTO oauth_device_codes (id, device_code_hash, user_code_hash, client_id, scope, audience, ip, user_agent,
                                created_at, expires_at, interval_seconds)
VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz, $10::timestamptz, $11)
ON CONFLICT DO NOTHING RETURNING id`;

const PENDING = `
SELECT d.id::text AS id, d.client_id, k.name AS client_name, d.scope, d.ip, d.user_agent, d.created_at
FROM oauth_device_codes d JOIN oauth_clients k ON k.id = d.client_id AND k.disabled_at IS NULL
WHERE d.user_code_hash = $1 AND d.status = 'pending' AND d.expires_at > $2::timestamptz`;

// The decision and its audit row in one statement; only a pending, unexpired request is decided.
const DECIDE = `
WITH d AS (
  UPDATE oauth_device_codes SET status = $2, user_id = $3::uuid, browser_session_id = $4::uuid,
         decided_at = $5::timestamptz
  WHERE id = $1::uuid AND status = 'pending' AND expires_at > $5::timestamptz
  RETURNING client_id, scope
), a AS (
  INSERT INTO audit_events (type, user_id, session_id, reason, ip, user_agent, request_id, created_at)
  SELECT $6, $3::uuid, $4::uuid, 'client ' || d.client_id, $7, $8, $9, $5::timestamptz FROM d
)
SELECT d.client_id, d.scope, k.name AS client_name FROM d JOIN oauth_clients k ON k.id = d.client_id`;

const REDEEM = `
WITH d AS (
  UPDATE oauth_device_codes d SET used_at = $3::timestamptz, grant_session_id = $4::uuid,
         last_polled_at = $3::timestamptz
  WHERE d.device_code_hash = $1 AND d.client_id = $2 AND d.status = 'approved' AND d.used_at IS NULL
    AND d.expires_at > $3::timestamptz
    AND (d.last_polled_at IS NULL OR d.last_polled_at + make_interval(secs => d.interval_seconds) <= $3::timestamptz)
    AND ${clientAtVersionSql('$2', '$10')}
    AND EXISTS (SELECT 1 FROM users x WHERE x.id = d.user_id AND x.disabled_at IS NULL)
    AND EXISTS (SELECT 1 FROM sessions b WHERE b.id = d.browser_session_id AND ${liveSql('b', '$3')})
  RETURNING d.user_id, d.browser_session_id, d.scope, d.audience
), u AS (
  SELECT d.*, b.created_at AS auth_time, b.idp, b.amr, x.email, x.email_verified_at IS NOT NULL AS email_verified
  FROM d JOIN users x ON x.id = d.user_id JOIN sessions b ON b.id = d.browser_session_id
), s AS (
  INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, refresh_counter, rotated_at,
                        user_agent, ip, idp, client_id, scope, audience, amr)
  SELECT $4::uuid, user_id, $3::timestamptz, $3::timestamptz,
         CASE WHEN ' ' || scope || ' ' LIKE '% offline_access %' THEN $5::timestamptz ELSE $6::timestamptz END,
         0, $3::timestamptz, $7, $8, idp, $2, scope, audience, amr
  FROM u
), a AS (
  INSERT INTO audit_events (type, user_id, session_id, reason, ip, user_agent, request_id, created_at)
  SELECT 'oauth_device_redeemed', user_id, $4::uuid, 'client ' || $2, $8, $7, $9, $3::timestamptz FROM u
)
SELECT user_id::text AS user_id, browser_session_id::text AS browser_session_id, scope, audience, auth_time, idp,
  amr, email, email_verified,
  ${rolesSql('u.user_id')} AS roles
FROM u`;

// Every poll that did not get tokens: remember it, slow a poller that came too soon, and say where the row stands.
// Only for the client as authenticated: a poll from a stale copy of the client records nothing (its retry, from
// a fresh read, is the poll that counts), so a client's change does not cost its device a slow_down.
const POLLED = `
UPDATE oauth_device_codes d SET
  interval_seconds = CASE WHEN o.last_polled_at IS NOT NULL
                           AND o.last_polled_at + make_interval(secs => o.interval_seconds) > $3::timestamptz
                      THEN o.interval_seconds + $4 ELSE o.interval_seconds END,
  last_polled_at = $3::timestamptz
FROM (SELECT id, last_polled_at, interval_seconds FROM oauth_device_codes
      WHERE device_code_hash = $1 AND client_id = $2 AND ${clientAtVersionSql('$2', '$5')} FOR UPDATE) o
WHERE d.id = o.id
RETURNING d.status, d.used_at, d.expires_at, d.interval_seconds,
  (o.last_polled_at IS NOT NULL AND o.last_polled_at + make_interval(secs => o.interval_seconds) > $3::timestamptz)
    AS too_soon`;

interface RedeemRow {
  user_id: string;
  browser_session_id: string;
  scope: string;
  audience: string;
  auth_time: Date;
  idp: string | null;
  amr: string[] | null;
  email: string;
  email_verified: boolean;
  roles: string | null;
}

interface PolledRow {
  status: string;
  used_at: Date | null;
  expires_at: Date;
  interval_seconds: number;
  too_soon: boolean;
}

const words = (s: string) => s.split(' ').filter(Boolean);

export class DeviceCodes {
  constructor(
    private readonly sql: Sql,
    private readonly settings: CodeSettings,
    private readonly clock: Clock,
  ) {}

  /** A new request for this client (RFC 8628 §3.1-3.2): the codes are returned once, only hashes are kept. */
  async start(clientId: string, scope: string[], audience: string[], meta: RequestMeta): Promise<DeviceAuthorization> {
    const now = this.clock.now();
    // A user code already held by another row (1 in 2.56·10^10 per row) is drawn again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const deviceCode = randomBytes(32).toString('base64url');
      const userCode = newUserCode();
      const [row] = await this.sql.query<{ id: string }>(INSERT, [
        randomUUID(),
        hashOf(deviceCode),
        userCodeHash(userCode),
        clientId,
        scope.join(' '),
        audience.join(' '),
        meta.ip,
        clipUserAgent(meta.userAgent),
        now.toISOString(),
        new Date(now.getTime() + DEVICE_CODE_TTL_SECONDS * 1000).toISOString(),
        DEVICE_POLL_INTERVAL_SECONDS,
      ]);
      if (row)
        return { deviceCode, userCode, expiresIn: DEVICE_CODE_TTL_SECONDS, interval: DEVICE_POLL_INTERVAL_SECONDS };
    }
    throw new Error('could not draw a free user code');
  }

  /**
   * Deletes requests expired for a day (the purge job): a spent or decided one has nothing left to say, and the
   * grant it started is a session of its own. Returns how many went.
   */
  purge(): Promise<number> {
    return deleteBefore(
      this.sql,
      'oauth_device_codes',
      'expires_at',
      new Date(this.clock.now().getTime() - 86_400_000),
    );
  }

  /** The pending, unexpired request a canonical user code names, or null. */
  async pending(userCode: string): Promise<PendingDevice | null> {
    const [row] = await this.sql.query<{
      id: string;
      client_id: string;
      client_name: string;
      scope: string;
      ip: string | null;
      user_agent: string | null;
      created_at: Date;
    }>(PENDING, [userCodeHash(userCode), this.clock.now().toISOString()]);
    if (!row) return null;
    return {
      id: row.id,
      clientId: row.client_id,
      clientName: row.client_name,
      scope: words(row.scope),
      ip: row.ip,
      userAgent: row.user_agent,
      createdAt: new Date(row.created_at),
    };
  }

  /**
   * The signed-in user's answer to the request `id` (from pending(), so only someone who entered its user code
   * knows it), and the client and scopes it was for. Null when the request is no longer pending (decided, or expired).
   */
  async decide(
    id: string,
    approve: boolean,
    who: { userId: string; browserSessionId: string },
    meta: RequestMeta,
  ): Promise<{ clientId: string; clientName: string; scope: string[] } | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.sql.query<{ client_id: string; client_name: string; scope: string }>(DECIDE, [
      id,
      approve ? 'approved' : 'denied',
      who.userId,
      who.browserSessionId,
      this.clock.now().toISOString(),
      approve ? 'oauth_device_approved' : 'oauth_device_denied',
      meta.ip,
      clipUserAgent(meta.userAgent),
      meta.requestId,
    ]);
    return row ? { clientId: row.client_id, clientName: row.client_name, scope: words(row.scope) } : null;
  }

  /**
   * The device's poll (RFC 8628 §3.4-3.5): the grant when approved, or DomainError authorization_pending,
   * slow_down, access_denied, expired_token or invalid_grant.
   */
  async redeem(deviceCode: string, client: ClientAtVersion, meta: RequestMeta): Promise<RedeemedDevice> {
    const clientId = client.id;
    if (!DEVICE_CODE_SHAPE.test(deviceCode))
      throw new DomainError('invalid_grant', { detail: 'malformed device_code' });
    const now = this.clock.now();
    const hash = hashOf(deviceCode);
    const grantSessionId = randomUUID();
    const [won] = await this.sql.query<RedeemRow>(REDEEM, [
      hash,
      clientId,
      now.toISOString(),
      grantSessionId,
      sessionDeadline(this.settings, now, now).toISOString(),
      new Date(now.getTime() + this.settings.accessTokenTtlSeconds * 1000).toISOString(),
      clipUserAgent(meta.userAgent),
      meta.ip,
      meta.requestId,
      client.version,
    ]);
    if (won)
      return {
        userId: won.user_id,
        grantSessionId,
        browserSessionId: won.browser_session_id,
        scope: words(won.scope),
        audience: words(won.audience),
        authTime: new Date(won.auth_time),
        idp: won.idp,
        amr: won.amr,
        email: won.email,
        emailVerified: won.email_verified,
        roles: rolesOf(won.roles),
      };
    const [row] = await this.sql.query<PolledRow>(POLLED, [
      hash,
      clientId,
      now.toISOString(),
      SLOW_DOWN_SECONDS,
      client.version,
    ]);
    throw refusal(row, now, clientId);
  }
}

/** Why a poll got no tokens, in RFC 8628 §3.5's order: spent or unknown, expired, too soon, then the decision. */
function refusal(row: PolledRow | undefined, now: Date, clientId: string): DomainError {
  if (!row) return new DomainError('invalid_grant', { detail: `unknown device_code for client ${clientId}` });
  if (row.used_at) return new DomainError('invalid_grant', { detail: 'device_code already redeemed' });
  if (new Date(row.expires_at).getTime() <= now.getTime()) return new DomainError('expired_token');
  if (row.too_soon) return new DomainError('slow_down', { detail: `interval now ${row.interval_seconds} s` });
  if (row.status === 'pending') return new DomainError('authorization_pending');
  // Denied by the user, or approved by an account, a session or for a client that is no longer good.
  return new DomainError('access_denied', { detail: `device grant ${row.status}, not redeemable` });
}
