// The webhook event catalogue, and the one mapping from an audit action to the events it announces. Every
// auth event already writes its audit row through audit() (src/domain/audit.ts), in the transaction of the
// change; audit() asks this file which events the row stands for and enqueues them in the same statement, so
// an event exists exactly when its change committed, without any domain file knowing about webhooks.
//
// A payload carries ids, the event type, the time and a short reason: never a token, password, code, key or
// email address (the audit row's reason holds none either). Receivers look anything else up by user_id.
//
// It sits beside audit.ts, not in webhooks/, because the audit writer reads it: the folder webhooks/ uses
// audit(), and a folder must not import the one that imports it.
import { randomUUID } from 'node:crypto';

/** What eventsOf reads of an audit entry (src/domain/audit.ts's AuditEntry; not imported, which would be a cycle). */
interface Audited {
  type: string;
  userId?: string | null;
  sessionId?: string | null;
  reason?: string | null;
  ended?: { reason: string; sessionIds: string[] } | undefined;
}

export const EVENT_TYPES = [
  'user.created',
  'user.verified',
  'user.deleted',
  'sign_in.succeeded',
  'sign_in.failed',
  'session.ended',
  'refresh_token.reuse_detected',
  'password.changed',
  'password.reset',
  'email.changed',
  'role.granted',
  'role.revoked',
  'factor.added',
  'factor.removed',
  'identity.linked',
  'identity.unlinked',
  'api_key.created',
  'api_key.revoked',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** Which event an audit action announces (besides session.ended, which comes from the end itself). */
const FROM_AUDIT: Readonly<Record<string, EventType>> = {
  register: 'user.created',
  email_verified: 'user.verified',
  account_deleted: 'user.deleted',
  login_ok: 'sign_in.succeeded',
  federated_login: 'sign_in.succeeded',
  login_failed: 'sign_in.failed',
  federated_login_refused: 'sign_in.failed',
  passkey_sign_in_failed: 'sign_in.failed',
  mfa_failed: 'sign_in.failed',
  refresh_reuse_detected: 'refresh_token.reuse_detected',
  password_changed: 'password.changed',
  password_reset: 'password.reset',
  email_changed: 'email.changed',
  role_granted: 'role.granted',
  role_revoked: 'role.revoked',
  mfa_factor_added: 'factor.added',
  passkey_added: 'factor.added',
  mfa_factor_removed: 'factor.removed',
  mfa_factors_reset: 'factor.removed',
  passkey_removed: 'factor.removed',
  identity_linked: 'identity.linked',
  identity_unlinked: 'identity.unlinked',
  api_key_created: 'api_key.created',
  api_key_revoked: 'api_key.revoked',
  api_key_leak_reported: 'api_key.revoked',
};

/**
 * The most session ids one session.ended carries. Ending many sessions at once (sign out everywhere, an
 * admin disabling an account with thousands of sessions) announces them in several session.ended events of
 * at most this many ids each, with the same user and reason, so no request body grows without bound.
 */
export const SESSION_IDS_PER_EVENT = 100;

/** One event, ready to store: `id` is the webhook-id every endpoint and every retry sees. */
export interface WebhookEvent {
  id: string;
  type: EventType;
  /** The JSON body, signed byte for byte as stored. */
  payload: string;
}

interface EventData {
  user_id: string | null;
  session_id?: string | null;
  session_ids?: string[];
  reason: string | null;
}

function event(type: EventType, at: Date, data: EventData): WebhookEvent {
  const id = `msg_${randomUUID().replaceAll('-', '')}`;
  // Standard Webhooks' recommended shape: type, timestamp, data.
  return { id, type, payload: JSON.stringify({ type, timestamp: at.toISOString(), data }) };
}

/** The events an audit entry announces, in order (none for most of the audit's vocabulary). */
export function eventsOf(entry: Audited, at: Date): WebhookEvent[] {
  const events: WebhookEvent[] = [];
  const type = Object.hasOwn(FROM_AUDIT, entry.type) ? FROM_AUDIT[entry.type] : undefined;
  if (type) {
    events.push(
      event(type, at, {
        user_id: entry.userId ?? null,
        session_id: entry.sessionId ?? null,
        reason: entry.reason ?? null,
      }),
    );
  }
  const ended = entry.ended;
  for (let i = 0; ended && i < ended.sessionIds.length; i += SESSION_IDS_PER_EVENT) {
    events.push(
      event('session.ended', at, {
        user_id: entry.userId ?? null,
        session_ids: ended.sessionIds.slice(i, i + SESSION_IDS_PER_EVENT),
        reason: ended.reason,
      }),
    );
  }
  return events;
}
