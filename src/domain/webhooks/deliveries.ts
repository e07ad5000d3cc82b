// The webhook outbox: one row per (event, endpoint), written by audit() in the transaction of the change
// (src/domain/audit.ts), claimed with the shared lease (src/domain/outbox-lease.ts) so instances never take
// the same row, and marked with the claim's lease as fencing token. Admins list the rows with their last
// outcome and can send one again; a receiver's answer is kept only as a short excerpt.
import type { Sql } from '../../db/sql.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { actorName, type Actor } from '../actor.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { backoffMs, claimDue, type Backoff } from '../outbox-lease.js';
import type { Outcome } from './sender.js';

export interface ClaimedDelivery {
  id: string;
  eventId: string;
  endpointId: string;
  payload: string;
  attempts: number;
  lease: Date;
}

type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface DeliveryView {
  id: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  state: DeliveryState;
  attempts: number;
  createdAt: Date;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  lastResponse: string | null;
}

export interface DeliveryFilter {
  endpointId?: string | undefined;
  state?: DeliveryState | undefined;
  /** Rows older than this id (the previous page's last). */
  before?: string | undefined;
  limit: number;
}

const ERROR_CHARS = 200;

type Row = {
  id: bigint;
  eventId: string;
  endpointId: string;
  eventType: string;
  attempts: number;
  createdAt: Date;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  sentAt: Date | null;
  failedAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  lastResponse: string | null;
};

function view(r: Row): DeliveryView {
  const state: DeliveryState = r.sentAt ? 'delivered' : r.failedAt ? 'failed' : 'pending';
  return {
    id: String(r.id),
    eventId: r.eventId,
    endpointId: r.endpointId,
    eventType: r.eventType,
    state,
    attempts: r.attempts,
    createdAt: r.createdAt,
    lastAttemptAt: r.lastAttemptAt,
    nextAttemptAt: state === 'pending' ? r.nextAttemptAt : null,
    deliveredAt: r.sentAt,
    lastStatus: r.lastStatus,
    lastError: r.lastError,
    lastResponse: r.lastResponse,
  };
}

export class WebhookDeliveries {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** Leases up to `limit` due deliveries, at most `perEndpoint` of one endpoint, none of the `busy` endpoints. */
  async claim(
    now: Date,
    leaseMs: number,
    limit: number,
    perEndpoint: number,
    busy: string[],
  ): Promise<ClaimedDelivery[]> {
    const rows = await claimDue<{ id: string; event_id: string; endpoint_id: string; payload: string }>(
      this.sql,
      'webhook_deliveries',
      'm.event_id, m.endpoint_id::text AS endpoint_id, m.payload',
      now,
      leaseMs,
      limit,
      { column: 'endpoint_id', limit: perEndpoint, exclude: busy },
    );
    return rows.map((r) => ({
      id: r.id,
      eventId: r.event_id,
      endpointId: r.endpoint_id,
      payload: r.payload,
      attempts: r.attempts,
      lease: r.locked_until,
    }));
  }

  /** Records an attempt: delivered, retried after the backoff, or given up after `maxAttempts` (or `giveUp`). */
  async record(
    d: ClaimedDelivery,
    outcome: Outcome,
    now: Date,
    rules: { maxAttempts: number; backoff: Backoff; giveUp?: boolean },
  ): Promise<'delivered' | 'retry' | 'given_up'> {
    const result = outcome.ok ? 'delivered' : rules.giveUp || d.attempts >= rules.maxAttempts ? 'given_up' : 'retry';
    const next = new Date(now.getTime() + backoffMs(d.attempts, rules.backoff));
    await this.sql.query(
      `UPDATE webhook_deliveries SET locked_until = NULL, last_attempt_at = $2::timestamptz,
         last_status = $3, last_error = $4, last_response = $5,
         sent_at = CASE WHEN $6 = 'delivered' THEN $2::timestamptz END,
         failed_at = CASE WHEN $6 = 'given_up' THEN $2::timestamptz END,
         next_attempt_at = CASE WHEN $6 = 'retry' THEN $7::timestamptz ELSE next_attempt_at END
       WHERE id = $1::bigint AND locked_until = $8::timestamptz`,
      [
        d.id,
        now.toISOString(),
        outcome.status,
        outcome.error?.slice(0, ERROR_CHARS) ?? null,
        outcome.excerpt,
        result,
        next.toISOString(),
        d.lease.toISOString(),
      ],
    );
    return result;
  }

  async list(filter: DeliveryFilter): Promise<DeliveryView[]> {
    const rows = await this.db.webhookDelivery.findMany({
      where: {
        ...(filter.endpointId ? { endpointId: filter.endpointId } : {}),
        ...(filter.before ? { id: { lt: BigInt(filter.before) } } : {}),
        ...(filter.state === 'delivered' ? { sentAt: { not: null } } : {}),
        ...(filter.state === 'failed' ? { failedAt: { not: null } } : {}),
        ...(filter.state === 'pending' ? { sentAt: null, failedAt: null } : {}),
      },
      orderBy: { id: 'desc' },
      take: filter.limit,
      omit: { payload: true },
    });
    return rows.map(view);
  }

  async get(id: string): Promise<DeliveryView & { payload: string }> {
    const row = await this.db.webhookDelivery.findUnique({ where: { id: BigInt(id) } });
    if (!row) throw new DomainError('not_found', { detail: 'no such webhook delivery' });
    return { ...view(row), payload: row.payload };
  }

  /**
   * Sends a delivery again (same webhook-id, so a receiver that already has it can tell), with a fresh count
   * of attempts. One statement queues it, so two re-sends at once queue it once. One a worker is sending right
   * now (leased) is refused with webhook_delivery_in_flight, and nothing is audited: its outcome is not known
   * yet, and resetting it under the worker would lose that outcome.
   */
  async resend(id: string, actor: Actor, meta: RequestMeta): Promise<DeliveryView> {
    const now = this.clock.now();
    // The statement that queues it is the claim of the re-send; its audit row commits with it, in one
    // transaction, so a re-send is never queued unaudited nor audited unqueued.
    const row = await this.db.$transaction(async (tx) => {
      const queued = await tx.$executeRaw`
        UPDATE webhook_deliveries SET sent_at = NULL, failed_at = NULL, attempts = 0, next_attempt_at = ${now}
        WHERE id = ${BigInt(id)} AND (locked_until IS NULL OR locked_until <= ${now})`;
      if (queued === 0) {
        const exists = await tx.webhookDelivery.count({ where: { id: BigInt(id) } });
        if (exists === 0) throw new DomainError('not_found', { detail: 'no such webhook delivery' });
        throw new DomainError('webhook_delivery_in_flight', { detail: `delivery ${id} is leased by a worker` });
      }
      await audit(tx, meta, now, { type: 'webhook_delivery_resent', reason: `${id} by ${actorName(actor)}` });
      return tx.webhookDelivery.findUniqueOrThrow({ where: { id: BigInt(id) }, omit: { payload: true } });
    });
    return view(row);
  }

  /** Deletes deliveries delivered or given up before `before` (the purge job's retention). */
  async purge(before: Date): Promise<number> {
    const rows = await this.sql.query(
      'DELETE FROM webhook_deliveries WHERE COALESCE(sent_at, failed_at) < $1::timestamptz RETURNING id',
      [before.toISOString()],
    );
    return rows.length;
  }
}
