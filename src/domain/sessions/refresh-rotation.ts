// The refresh statement: a compare-and-swap on the session row. One UPDATE moves the counter only if it still
// equals the presented one and the session may still be refreshed (refresh-verdict.ts's `rotate`, as SQL),
// with the audit row in the same statement, and reads the roles and email_verified the access token carries.
// One round trip, no interactive transaction, no lock held across round trips, no row per refresh. An OAuth
// client's refresh also re-checks, in the same statement, that the client is unchanged (client-version.ts).
// Concurrent refreshes of one token, on one instance or many: exactly one UPDATE matches.
//
// Only when it matches nothing does the lifecycle (session-lifecycle.ts) read the row (readSession) and ask
// refreshVerdict why.
import type { Sql } from '../../db/sql.js';
import { clipUserAgent, type RequestMeta } from '../audit.js';
import type { RefreshSettings, SessionSnapshot } from './refresh-verdict.js';
import { liveSql, refreshCutoffs } from './session-state.js';
import type { StepUp } from './assurance.js';
import { clientAtVersionSql, type ClientAtVersion } from './client-version.js';
import { rolesOf, rolesSql } from './user-claims.js';

// The INSERT mirrors audit() in audit.ts (same columns), so the audit row commits with the CAS.
const CAS = `
WITH s AS (
  UPDATE sessions
  SET refresh_counter = refresh_counter + 1, rotated_at = $3::timestamptz, last_used_at = $3::timestamptz,
      expires_at = LEAST($4::timestamptz, created_at + $5::int * interval '1 second')
  WHERE id = $1::uuid AND refresh_counter = $2::bigint
    AND ${liveSql('sessions', '$3')}
    AND last_used_at > $6::timestamptz AND created_at > $7::timestamptz
    AND client_id IS NOT DISTINCT FROM $11
    AND ($12::int IS NULL OR ${clientAtVersionSql('$11', '$12')})
  RETURNING id, user_id, created_at, expires_at, refresh_counter, idp, scope, audience, amr, step_up_at, step_up_amr
), a AS (
  INSERT INTO audit_events (type, user_id, session_id, ip, user_agent, request_id, created_at)
  SELECT 'refresh', user_id, id, $8, $9, $10, $3::timestamptz FROM s
)
SELECT user_id::text AS user_id, created_at, expires_at, refresh_counter::text AS counter,
  ${rolesSql('s.user_id')} AS roles,
  (SELECT u.email_verified_at IS NOT NULL FROM users u WHERE u.id = s.user_id) AS email_verified,
  idp, scope, audience, amr, step_up_at, step_up_amr
FROM s`;

/** What the statement hands back when it moved the counter. */
export interface Rotated {
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  counter: bigint;
  roles: string[];
  emailVerified: boolean;
  idp: string | null;
  /** A grant to an OAuth client (src/domain/oauth/): what was granted, space-separated, and its audience. */
  scope: string | null;
  audience: string | null;
  /** RFC 8176 methods of the sign-in (assurance.ts); null for a session from before they were kept. */
  amr: string[] | null;
  /** The session's last step-up (assurance.ts withStepUp decides whether it still counts). */
  stepUp: StepUp;
}

/** Moves the session from `counter` to the next one, or returns null when the statement matched nothing. */
export async function rotateSession(
  sql: Sql,
  sessionId: string,
  counter: bigint,
  now: Date,
  settings: RefreshSettings,
  meta: RequestMeta,
  /** The OAuth client presenting the token (src/domain/oauth/); null: Tessera's own refresh cookie. */
  client: ClientAtVersion | null,
): Promise<Rotated | null> {
  const { lastUsedAfter, createdAfter } = refreshCutoffs(settings, now);
  const until = new Date(now.getTime() + Math.min(settings.refreshTokenTtlSeconds, settings.sessionIdleSeconds) * 1000);
  const [won] = await sql.query<{
    user_id: string;
    created_at: Date;
    expires_at: Date;
    counter: string;
    roles: string | null;
    email_verified: boolean;
    idp: string | null;
    scope: string | null;
    audience: string | null;
    amr: string[] | null;
    step_up_at: Date | null;
    step_up_amr: string[] | null;
  }>(CAS, [
    sessionId,
    counter.toString(),
    now.toISOString(),
    until.toISOString(),
    settings.sessionMaxAgeSeconds,
    lastUsedAfter.toISOString(),
    createdAfter.toISOString(),
    meta.ip,
    clipUserAgent(meta.userAgent),
    meta.requestId,
    client?.id ?? null,
    client?.version ?? null,
  ]);
  if (!won) return null;
  return {
    userId: won.user_id,
    createdAt: won.created_at,
    expiresAt: won.expires_at,
    counter: BigInt(won.counter),
    roles: rolesOf(won.roles),
    emailVerified: won.email_verified,
    idp: won.idp,
    scope: won.scope,
    audience: won.audience,
    amr: won.amr,
    stepUp: { at: won.step_up_at, amr: won.step_up_amr },
  };
}

const SESSION = `
SELECT user_id::text AS user_id, created_at, last_used_at, expires_at, revoked_at,
       refresh_counter::text AS counter, rotated_at, idp, client_id, scope, audience, amr,
       step_up_at, step_up_amr
FROM sessions WHERE id = $1::uuid`;

/** Who a session belongs to and what it grants: its user, provider, and OAuth client with scope and audience. */
interface SessionGrantFacts {
  userId: string;
  idp: string | null;
  clientId: string | null;
  scope: string | null;
  audience: string | null;
  amr: string[] | null;
  stepUp: StepUp;
}

/** The session row as refreshVerdict reads it, with its owner and provider; null if there is none. */
export async function readSession(sql: Sql, sessionId: string): Promise<(SessionSnapshot & SessionGrantFacts) | null> {
  const [s] = await sql.query<{
    user_id: string;
    created_at: Date;
    last_used_at: Date;
    expires_at: Date;
    revoked_at: Date | null;
    counter: string | null;
    rotated_at: Date | null;
    idp: string | null;
    client_id: string | null;
    scope: string | null;
    audience: string | null;
    amr: string[] | null;
    step_up_at: Date | null;
    step_up_amr: string[] | null;
  }>(SESSION, [sessionId]);
  if (!s) return null;
  return {
    userId: s.user_id,
    idp: s.idp,
    clientId: s.client_id,
    scope: s.scope,
    audience: s.audience,
    amr: s.amr,
    stepUp: { at: s.step_up_at, amr: s.step_up_amr },
    createdAt: s.created_at,
    lastUsedAt: s.last_used_at,
    expiresAt: s.expires_at,
    revokedAt: s.revoked_at,
    counter: s.counter === null ? null : BigInt(s.counter),
    rotatedAt: s.rotated_at,
  };
}
