// Auth events, written to the audit_events table in the same transaction as the change they record.
// Never a password, token or cookie: ids, reasons and request metadata only.
//
// The row an auth event writes here is also where its webhook events (src/domain/webhook-events.ts) are
// enqueued: one statement inserts the audit row and a delivery for each enabled endpoint that asked for the
// event, so the webhook outbox commits or rolls back with the change, and the audit costs no extra round trip.
import { Prisma } from '../generated/prisma/client.js';
import { eventsOf, type WebhookEvent } from './webhook-events.js';

export type AuditType =
  | 'register'
  | 'login_ok'
  | 'login_failed'
  | 'login_throttled'
  | 'rate_limited'
  | 'refresh'
  | 'refresh_reuse_detected'
  | 'logout'
  | 'logout_all'
  | 'session_revoked'
  | 'password_changed'
  | 'password_change_failed'
  | 'token_revoked'
  // src/domain/authz/: who may do what
  | 'role_granted'
  | 'role_revoked'
  | 'account_disabled'
  | 'account_enabled'
  | 'account_deleted'
  | 'client_token_issued'
  // Email flows (src/domain/recovery).
  | 'password_reset_requested'
  | 'password_reset'
  | 'email_verification_sent'
  | 'email_verified'
  | 'email_change_requested'
  | 'email_change_failed'
  | 'email_changed'
  | 'email_change_undone'
  // An earlier holder's password, identities and sessions removed (src/domain/recovery/account-reclaim.ts).
  | 'account_reclaimed'
  // Sign-in with an identity provider (src/domain/federation/).
  | 'federated_login'
  | 'federated_login_refused'
  | 'identity_linked'
  | 'identity_unlinked'
  // The OAuth authorization server (src/domain/oauth/).
  | 'oauth_client_registered'
  | 'oauth_client_updated'
  | 'oauth_client_disabled'
  | 'oauth_client_enabled'
  | 'oauth_client_secret_rotated'
  | 'oauth_client_deleted'
  | 'oauth_consent_granted'
  | 'oauth_code_issued'
  | 'oauth_code_redeemed'
  | 'oauth_code_replayed'
  | 'oauth_grant_revoked'
  | 'oauth_logout'
  // Second factors (src/domain/mfa/).
  | 'mfa_factor_added'
  | 'mfa_factor_removed'
  | 'mfa_factors_reset'
  | 'mfa_recovery_codes_generated'
  | 'mfa_recovery_code_used'
  | 'mfa_failed'
  | 'mfa_locked'
  // Step-up (src/domain/mfa/step-up.ts): a second factor proven again inside a session.
  | 'step_up'
  // The device authorization grant (src/domain/oauth/device-codes.ts).
  | 'oauth_device_approved'
  | 'oauth_device_denied'
  | 'oauth_device_redeemed'
  // Passkeys (src/domain/passkeys/).
  | 'passkey_added'
  | 'passkey_renamed'
  | 'passkey_removed'
  | 'passkey_sign_in_failed'
  | 'passkey_counter_regressed'
  // API keys (src/domain/api-keys/).
  | 'api_key_created'
  | 'api_key_rolled'
  | 'api_key_revoked'
  | 'api_key_leak_reported'
  // Webhook endpoints (src/domain/webhooks/).
  | 'webhook_endpoint_created'
  | 'webhook_endpoint_updated'
  | 'webhook_endpoint_deleted'
  | 'webhook_secret_rotated'
  | 'webhook_delivery_resent';

/** Who is asking: taken from the HTTP request, carried into audit records and new sessions. */
export interface RequestMeta {
  ip: string;
  userAgent?: string | undefined;
  requestId: string;
}

export interface AuditEntry {
  type: AuditType;
  userId?: string | null;
  sessionId?: string | null;
  reason?: string | null;
  /** Sessions this change ended, and why (session-end.ts): announced as session.ended, not stored here. */
  ended?: { reason: string; sessionIds: string[] };
}

type Writer = Pick<Prisma.TransactionClient, 'auditEvent' | '$executeRaw'>;

const MAX_USER_AGENT = 512;

export function clipUserAgent(ua: string | undefined): string | null {
  return ua ? ua.slice(0, MAX_USER_AGENT) : null;
}

export async function audit(db: Writer, meta: RequestMeta, at: Date, entry: AuditEntry): Promise<void> {
  const events = eventsOf(entry, at);
  if (events.length === 0) {
    await db.auditEvent.create({
      data: {
        type: entry.type,
        userId: entry.userId ?? null,
        sessionId: entry.sessionId ?? null,
        reason: entry.reason ?? null,
        ip: meta.ip || null,
        userAgent: clipUserAgent(meta.userAgent),
        requestId: meta.requestId,
        createdAt: at,
      },
    });
    return;
  }
  await db.$executeRaw`WITH ${ctesOf(meta, at, entry, events)} SELECT 1`;
}

/**
 * The audit row of `entry` and a webhook delivery for each enabled endpoint that asked for its events, as the
 * data-modifying CTEs `audited` and `delivered` of a WITH clause: the one SQL that writes them, for audit() and
 * for a statement that records its own change in the same round trip (session-lifecycle.ts's start). With
 * `gate`, the name of an earlier CTE of that statement, both are written only when it returned a row. Every
 * parameter is cast, so the fragment runs on the raw driver (src/db/sql.ts) as it does through Prisma.
 */
export function auditCtes(meta: RequestMeta, at: Date, entry: AuditEntry, gate?: string): Prisma.Sql {
  return ctesOf(meta, at, entry, eventsOf(entry, at), gate);
}

function ctesOf(meta: RequestMeta, at: Date, entry: AuditEntry, events: WebhookEvent[], gate?: string): Prisma.Sql {
  const when = gate ? Prisma.raw(`\n      WHERE EXISTS (SELECT 1 FROM ${gate})`) : Prisma.empty;
  const audited = Prisma.sql`audited AS (
      INSERT INTO audit_events (type, user_id, session_id, reason, ip, user_agent, request_id, created_at)
      SELECT ${entry.type}::text, ${entry.userId ?? null}::uuid, ${entry.sessionId ?? null}::uuid,
             ${entry.reason ?? null}::text, ${meta.ip || null}::text, ${clipUserAgent(meta.userAgent)}::text,
             ${meta.requestId}::text, ${at}::timestamptz${when}
    )`;
  if (events.length === 0) return audited;
  const rows = Prisma.join(events.map((e) => Prisma.sql`(${e.id}::text, ${e.type}::text, ${e.payload}::text)`));
  const andWhen = gate ? Prisma.raw(` AND EXISTS (SELECT 1 FROM ${gate})`) : Prisma.empty;
  return Prisma.sql`${audited}, delivered AS (
      INSERT INTO webhook_deliveries (event_id, endpoint_id, event_type, payload, created_at, next_attempt_at)
      SELECT e.id, w.id, e.type, e.payload, ${at}::timestamptz, ${at}::timestamptz
      FROM (VALUES ${rows}) AS e(id, type, payload)
      JOIN webhook_endpoints w ON w.disabled_at IS NULL AND e.type = ANY(w.event_types)${andWhen}
    )`;
}
