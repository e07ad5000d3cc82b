// Webhook endpoints, as an admin manages them (/admin/webhooks and `npm run webhooks`): a URL, the event
// types it wants, enabled or not, and its signing secrets. A secret is shown once, when it is made; it is kept
// sealed with KEYS_DIR's secret box (the signer needs it in the clear, so a hash would not do), bound to its
// row so a sealed value copied onto another endpoint does not open. Rotating makes a new secret and gives the
// old ones `overlap_seconds` more: during the overlap every delivery carries a signature from each.
import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { actorName, type Actor } from '../actor.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { SecretBox } from '../mfa/secret-box.js';
import { checkEndpointUrl, type UrlRules } from './address-guard.js';
import { isEventType, type EventType } from '../webhook-events.js';

export interface Endpoint {
  id: string;
  url: string;
  eventTypes: EventType[];
  description: string | null;
  enabled: boolean;
  createdAt: Date;
  /** When the oldest secret still signing stops (a rotation's overlap), or null. */
  previousSecretExpiresAt: Date | null;
}

export interface EndpointInput {
  url: string;
  eventTypes: string[];
  description?: string | null | undefined;
}

export interface EndpointChange {
  url?: string | undefined;
  eventTypes?: string[] | undefined;
  description?: string | null | undefined;
  enabled?: boolean | undefined;
}

/** The longest a rotated-out secret may keep signing. */
export const MAX_OVERLAP_SECONDS = 7 * 86400;

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const boundTo = (endpointId: string, secretId: string) => `webhook:${endpointId}:${secretId}`;

type Row = {
  id: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  disabledAt: Date | null;
  createdAt: Date;
  secrets: { expiresAt: Date | null }[];
};

function eventTypesOf(values: string[]): EventType[] {
  const unknown = values.filter((v) => !isEventType(v));
  if (values.length === 0 || unknown.length > 0)
    throw new DomainError('webhook_event_type_unknown', {
      message: unknown.length ? `Unknown event types: ${unknown.join(', ')}.` : 'Name at least one event type.',
    });
  return [...new Set(values)].sort() as EventType[];
}

export class WebhookEndpoints {
  constructor(
    private readonly db: PrismaClient,
    private readonly box: SecretBox,
    private readonly rules: UrlRules,
    private readonly clock: Clock,
  ) {}

  private view(row: Row, now: Date): Endpoint {
    const overlap = row.secrets
      .map((s) => s.expiresAt)
      .filter((e): e is Date => e !== null && e > now)
      .sort((a, b) => a.getTime() - b.getTime());
    return {
      id: row.id,
      url: row.url,
      eventTypes: row.eventTypes as EventType[],
      description: row.description,
      enabled: row.disabledAt === null,
      createdAt: row.createdAt,
      previousSecretExpiresAt: overlap[0] ?? null,
    };
  }

  private find(id: string) {
    return this.db.webhookEndpoint.findUnique({ where: { id }, include: { secrets: { select: { expiresAt: true } } } });
  }

  async create(input: EndpointInput, actor: Actor, meta: RequestMeta): Promise<{ endpoint: Endpoint; secret: string }> {
    const url = checkEndpointUrl(input.url, this.rules).href;
    const eventTypes = eventTypesOf(input.eventTypes);
    const now = this.clock.now();
    const secret = newSecret();
    const row = await this.db.$transaction(async (tx) => {
      const made = await tx.webhookEndpoint.create({
        data: { url, eventTypes, description: input.description ?? null, createdAt: now },
      });
      const secretRow = await tx.webhookSecret.create({ data: { endpointId: made.id, sealed: '', createdAt: now } });
      await tx.webhookSecret.update({
        where: { id: secretRow.id },
        data: { sealed: this.box.seal(secret, boundTo(made.id, secretRow.id)) },
      });
      await audit(tx, meta, now, { type: 'webhook_endpoint_created', reason: `${made.id} by ${actorName(actor)}` });
      return { ...made, secrets: [{ expiresAt: null }] };
    });
    return { endpoint: this.view(row, now), secret };
  }

  async list(): Promise<Endpoint[]> {
    const now = this.clock.now();
    const rows = await this.db.webhookEndpoint.findMany({
      include: { secrets: { select: { expiresAt: true } } },
      orderBy: { createdAt: 'asc' },
    });
    return rows.map((r) => this.view(r, now));
  }

  async get(id: string): Promise<Endpoint> {
    const row = await this.find(id);
    if (!row) throw new DomainError('not_found', { detail: 'no such webhook endpoint' });
    return this.view(row, this.clock.now());
  }

  async update(id: string, change: EndpointChange, actor: Actor, meta: RequestMeta): Promise<Endpoint> {
    const url = change.url === undefined ? undefined : checkEndpointUrl(change.url, this.rules).href;
    const eventTypes = change.eventTypes === undefined ? undefined : eventTypesOf(change.eventTypes);
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.webhookEndpoint.updateMany({
        where: { id },
        data: {
          ...(url !== undefined ? { url } : {}),
          ...(eventTypes !== undefined ? { eventTypes } : {}),
          ...(change.description !== undefined ? { description: change.description } : {}),
          ...(change.enabled !== undefined ? { disabledAt: change.enabled ? null : now } : {}),
        },
      });
      if (count === 0) throw new DomainError('not_found', { detail: 'no such webhook endpoint' });
      await audit(tx, meta, now, { type: 'webhook_endpoint_updated', reason: `${id} by ${actorName(actor)}` });
    });
    return this.get(id);
  }

  /** Deletes the endpoint with its secrets and deliveries. */
  async delete(id: string, actor: Actor, meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.webhookEndpoint.deleteMany({ where: { id } });
      if (count === 0) throw new DomainError('not_found', { detail: 'no such webhook endpoint' });
      await audit(tx, meta, now, { type: 'webhook_endpoint_deleted', reason: `${id} by ${actorName(actor)}` });
    });
  }

  /** A new secret (returned once); the others sign for `overlapSeconds` more (0: stop at once). */
  async rotateSecret(
    id: string,
    overlapSeconds: number,
    actor: Actor,
    meta: RequestMeta,
  ): Promise<{ endpoint: Endpoint; secret: string }> {
    const now = this.clock.now();
    const until = new Date(now.getTime() + Math.min(overlapSeconds, MAX_OVERLAP_SECONDS) * 1000);
    const secret = newSecret();
    await this.db.$transaction(async (tx) => {
      // Locks the endpoint, so two rotations at once leave one current secret.
      const rows = await tx.$queryRaw<{ id: string }[]>`
        SELECT id::text AS id FROM webhook_endpoints WHERE id = ${id}::uuid FOR UPDATE`;
      if (rows.length === 0) throw new DomainError('not_found', { detail: 'no such webhook endpoint' });
      // An older secret keeps the earlier of its own end and this overlap's.
      await tx.$executeRaw`
        UPDATE webhook_secrets SET expires_at = LEAST(COALESCE(expires_at, ${until}), ${until})
        WHERE endpoint_id = ${id}::uuid`;
      await tx.webhookSecret.deleteMany({ where: { endpointId: id, expiresAt: { lte: now } } });
      const row = await tx.webhookSecret.create({ data: { endpointId: id, sealed: '', createdAt: now } });
      await tx.webhookSecret.update({
        where: { id: row.id },
        data: { sealed: this.box.seal(secret, boundTo(id, row.id)) },
      });
      await audit(tx, meta, now, {
        type: 'webhook_secret_rotated',
        reason: `${id} overlap=${overlapSeconds}s by ${actorName(actor)}`,
      });
    });
    return { endpoint: await this.get(id), secret };
  }

  /** Where and with what to deliver now: null when the endpoint is gone or disabled. Newest secret first. */
  async target(id: string, now: Date): Promise<{ url: string; secrets: string[] } | null> {
    const row = await this.db.webhookEndpoint.findUnique({
      where: { id },
      include: { secrets: { orderBy: { createdAt: 'desc' } } },
    });
    if (!row || row.disabledAt) return null;
    const secrets = row.secrets
      .filter((s) => s.expiresAt === null || s.expiresAt > now)
      .map((s) => this.box.open(s.sealed, boundTo(id, s.id)));
    return { url: row.url, secrets };
  }
}
