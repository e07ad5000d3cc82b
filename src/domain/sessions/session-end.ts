// How a session ends, in one place: which sessions, why (a closed list), who acted, and the audit row.
//
// Ending is one UPDATE that sets revoked_at: a session's refresh tokens are (session, counter) pairs, so they
// all die with it; no token rows to touch. The refresh statement has `revoked_at IS NULL` in its WHERE, so a
// refresh racing an end can never leave an ended session with a live token. Every way a session ends (logout,
// logout-all, password change or reset, a user, admin or client revoking it, reuse, an account disabled or
// deleted, a role revoked, an email change undone) calls endSessions, inside the caller's transaction when
// the end is part of a larger change, and endSessions writes the audit row from `endAudit`: callers never
// write one of their own for an end.
import { Prisma } from '../../generated/prisma/client.js';
import { actorName, type Actor } from '../actor.js';
import { audit, type AuditEntry, type AuditType, type RequestMeta } from '../audit.js';

/** Why sessions end: stored in sessions.revoked_reason. */
export type EndReason =
  | 'logout'
  | 'logout_all'
  | 'revoked_by_user'
  | 'revoked_by_admin'
  | 'revoked_by_client'
  | 'refresh_token_reused'
  | 'password_changed'
  | 'password_reset'
  | 'email_change_undone'
  | 'account_reclaimed'
  | 'account_disabled'
  | 'account_deleted'
  | 'role_revoked'
  /** An admin reset the user's second factors (src/domain/mfa/factor-reset.ts). */
  | 'factors_reset'
  /** OAuth grants (src/domain/oauth/): a client disabled or deleted, a user's grant to a client revoked. */
  | 'client_disabled'
  | 'client_deleted'
  | 'grant_revoked'
  /** An authorization code presented again: the grant it started ends (RFC 6749 §4.1.2). */
  | 'authorization_code_replayed'
  /** RP-initiated logout (OpenID Connect): the browser's Tessera session ends. */
  | 'oidc_logout';

/** The ends after which a user's pending provider links must not complete (endSessions). */
const ENDS_LINK_FLOWS: ReadonlySet<EndReason> = new Set<EndReason>([
  'logout_all',
  'revoked_by_user',
  'revoked_by_admin',
  'refresh_token_reused',
  'password_changed',
  'password_reset',
  'email_change_undone',
  'account_reclaimed',
  'account_disabled',
  'account_deleted',
  'factors_reset',
]);

/** Who ended them. */
type EndActor =
  /** The user, from one of their sessions (`sessionId`) or with an emailed link (none). */
  | { kind: 'self'; sessionId?: string }
  /** An operator: an admin user, a client with the admin scope, or the CLI. */
  | { kind: 'admin'; actor: Actor }
  /** A service client revoking a token (RFC 7009). */
  | { kind: 'client'; clientId: string }
  /** Tessera itself: reuse detection. */
  | { kind: 'system' };

interface EndWhich {
  ids?: string[];
  userId?: string;
  /** Every one but this (a password change keeps the session it was made from). */
  exceptId?: string;
  /** Only sessions still live then (an expired session is not "ended" again). */
  liveAt?: Date;
}

export interface SessionEnd {
  which: EndWhich;
  reason: EndReason;
  by: EndActor;
  /** What else the change was about, first in the audit reason (the role revoked). */
  note?: string;
}

export interface EndedSession {
  id: string;
  userId: string;
}

// A per-session end writes one row for each session it ended (none if another request ended it first); an
// account-wide end writes one row whatever it ended, with the count.
const AUDIT: Record<EndReason, { type: AuditType; count?: (n: number) => string | null }> = {
  logout: { type: 'logout' },
  revoked_by_user: { type: 'session_revoked' },
  revoked_by_admin: { type: 'session_revoked' },
  revoked_by_client: { type: 'token_revoked' },
  refresh_token_reused: { type: 'refresh_reuse_detected' },
  logout_all: { type: 'logout_all', count: (n) => `${n} sessions` },
  password_changed: { type: 'password_changed', count: (n) => `${n} other sessions ended` },
  password_reset: { type: 'password_reset', count: (n) => `${n} sessions ended` },
  email_change_undone: { type: 'email_change_undone', count: (n) => `${n} sessions ended` },
  account_reclaimed: { type: 'account_reclaimed', count: (n) => `${n} sessions ended` },
  account_disabled: { type: 'account_disabled', count: (n) => `${n} sessions ended` },
  account_deleted: { type: 'account_deleted', count: (n) => `${n} sessions ended` },
  role_revoked: { type: 'role_revoked', count: (n) => (n ? `${n} sessions ended` : null) },
  factors_reset: { type: 'mfa_factors_reset', count: (n) => `${n} sessions ended` },
  oidc_logout: { type: 'oauth_logout' },
  client_disabled: { type: 'oauth_client_disabled', count: (n) => `${n} grants ended` },
  client_deleted: { type: 'oauth_client_deleted', count: (n) => `${n} grants ended` },
  grant_revoked: { type: 'oauth_grant_revoked', count: (n) => `${n} grants ended` },
  authorization_code_replayed: { type: 'oauth_code_replayed', count: (n) => `${n} grant ended` },
};

function who(by: EndActor): string | null {
  if (by.kind === 'admin') return `by ${actorName(by.actor)}`;
  if (by.kind === 'client') return `client ${by.clientId}`;
  return null;
}

/** The audit rows of an end that ended `ended`: pure, so the rule is a unit test. */
export function endAudit(end: SessionEnd, ended: EndedSession[]): AuditEntry[] {
  const rule = AUDIT[end.reason];
  const actor = who(end.by);
  if (!rule.count) return ended.map((s) => ({ type: rule.type, userId: s.userId, sessionId: s.id, reason: actor }));
  const first = [end.note, actor].filter(Boolean).join(' ');
  const reason = [first, rule.count(ended.length)].filter(Boolean).join('; ');
  return [
    {
      type: rule.type,
      // An end across users (a client's grants) names none.
      userId: end.which.userId ?? (new Set(ended.map((s) => s.userId)).size === 1 ? ended[0]!.userId : null),
      sessionId: end.by.kind === 'self' ? (end.by.sessionId ?? null) : null,
      reason: reason || null,
    },
  ];
}

/** A transaction (or the client) that can run the UPDATE and write the audit row. */
type Tx = Pick<Prisma.TransactionClient, '$queryRaw' | '$executeRaw' | 'auditEvent'>;

/**
 * Ends the sessions that match and are not ended yet, in one statement, and writes the audit row(s), in the
 * caller's transaction. Returns the sessions this call ended (another request may have ended the rest first).
 */
export async function endSessions(tx: Tx, end: SessionEnd, meta: RequestMeta, now: Date): Promise<EndedSession[]> {
  const ended = await revoke(tx, end.which, end.reason, now);
  // A provider link a signed-in user started (src/domain/federation/flows.ts) and has not finished yet goes with
  // the sessions when the end is about who holds the account: a reset, a take-back, a sign-out everywhere or a
  // session its owner ended must not be followed by an intruder's link completing at the provider's callback.
  // (A plain logout, or a client's grants ending, leaves a link in progress elsewhere alone.)
  const users = ENDS_LINK_FLOWS.has(end.reason) ? [...new Set(ended.map((s) => s.userId))] : [];
  if (users.length > 0)
    await tx.$executeRaw`DELETE FROM oauth_flows WHERE link_user_id IN (${Prisma.join(users.map((id) => Prisma.sql`${id}::uuid`))})`;
  // Each row also announces the sessions it stands for (session.ended): its own, or all of an account-wide end.
  const perSession = !AUDIT[end.reason].count;
  for (const entry of endAudit(end, ended)) {
    const sessionIds = perSession ? [entry.sessionId!] : ended.map((s) => s.id);
    await audit(tx, meta, now, { ...entry, ended: { reason: end.reason, sessionIds } });
  }
  return ended;
}

async function revoke(tx: Tx, which: EndWhich, reason: EndReason, now: Date): Promise<EndedSession[]> {
  if (which.ids?.length === 0) return [];
  const where = [Prisma.sql`revoked_at IS NULL`];
  if (which.ids) where.push(Prisma.sql`id IN (${Prisma.join(which.ids.map((id) => Prisma.sql`${id}::uuid`))})`);
  if (which.userId) where.push(Prisma.sql`user_id = ${which.userId}::uuid`);
  if (which.exceptId) where.push(Prisma.sql`id <> ${which.exceptId}::uuid`);
  if (which.liveAt) where.push(Prisma.sql`expires_at > ${which.liveAt}`);
  const rows = await tx.$queryRaw<{ id: string; user_id: string }[]>`
    UPDATE sessions SET revoked_at = ${now}, revoked_reason = ${reason}
    WHERE ${Prisma.join(where, ' AND ')}
    RETURNING id::text AS id, user_id::text AS user_id`;
  return rows.map((r) => ({ id: r.id, userId: r.user_id }));
}
