// Managing API keys: create, list, roll, revoke, and revoke a reported leak. Owners are a user (a personal
// key: its scopes must be among the user's roles now, and api-key-use.ts checks them again at every use) or
// a service client (its scopes among the client's configured scopes). A key is shown once, in the answer
// that made it; only its keyed hash is kept. Every expiry is bounded (API_KEY_MAX_TTL_SECONDS) and required
// (API_KEY_DEFAULT_TTL_SECONDS when none is asked). Every change writes its audit row in its own
// transaction, naming who acted; the key itself never appears in a row or a log line, only its id.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import { actorName, type Actor } from '../actor.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { enqueueMail, type OutgoingMail } from '../mail/outbox.js';
import type { ServiceClients } from '../tokens/service-clients.js';
import { newApiKey, newApiKeyId, parseApiKey } from './api-key-format.js';
import { macOf } from './api-key-use.js';
import { lockUser } from '../accounts/user-lock.js';

export type ApiKeyOwner = { kind: 'user'; userId: string } | { kind: 'client'; clientId: string };

export interface ApiKeySettings {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
}

/** What lists show: never the key or its hash. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  owner: ApiKeyOwner;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  rolledFrom: string | null;
}

export interface NewApiKey {
  name: string;
  scopes: string[];
  /** Seconds; undefined: the default. */
  expiresIn?: number | undefined;
}

/** Renders the owner's notice of a reported leak (the mail templates), when email is on. */
export type LeakNotice = (to: string, vars: { key_id: string; key_name: string; time: string }) => OutgoingMail;

const SELECT = {
  id: true,
  name: true,
  userId: true,
  clientId: true,
  scopes: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  rolledFrom: true,
} as const;

type Row = {
  id: string;
  name: string;
  userId: string | null;
  clientId: string | null;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  rolledFrom: string | null;
};

const info = (r: Row): ApiKeyInfo => ({
  id: r.id,
  name: r.name,
  owner: r.userId ? { kind: 'user', userId: r.userId } : { kind: 'client', clientId: r.clientId! },
  scopes: r.scopes,
  createdAt: r.createdAt,
  expiresAt: r.expiresAt,
  revokedAt: r.revokedAt,
  lastUsedAt: r.lastUsedAt,
  rolledFrom: r.rolledFrom,
});

const ownerWhere = (o: ApiKeyOwner) => (o.kind === 'user' ? { userId: o.userId } : { clientId: o.clientId });
const ownerName = (o: ApiKeyOwner) => (o.kind === 'user' ? `user:${o.userId}` : `client:${o.clientId}`);

export class ApiKeys {
  constructor(
    private readonly db: PrismaClient,
    private readonly pepper: Buffer,
    private readonly clients: ServiceClients,
    private readonly settings: ApiKeySettings,
    private readonly clock: Clock,
    private readonly leakNotice?: LeakNotice,
  ) {}

  /** Makes a key; the answer holds the key, which is never shown again. */
  async create(owner: ApiKeyOwner, spec: NewApiKey, actor: Actor, meta: RequestMeta) {
    await this.assertScopes(owner, spec.scopes);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.ttl(spec.expiresIn) * 1000);
    return this.db.$transaction(async (tx) => {
      const made = await this.insert(tx, owner, spec.name, spec.scopes, now, expiresAt, null);
      await audit(tx, meta, now, {
        type: 'api_key_created',
        userId: owner.kind === 'user' ? owner.userId : null,
        reason: `${made.info.id} for ${ownerName(owner)} by ${actorName(actor)}`,
      });
      return made;
    });
  }

  /** The owner's keys, newest first (revoked and expired ones too: they say when). */
  async list(owner?: ApiKeyOwner): Promise<ApiKeyInfo[]> {
    const rows = await this.db.apiKey.findMany({
      where: owner ? ownerWhere(owner) : {},
      select: SELECT,
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      take: 500,
    });
    return rows.map(info);
  }

  /** One key; with an owner, not_found unless it is theirs (a user can't learn of another's keys). */
  async get(id: string, owner?: ApiKeyOwner): Promise<ApiKeyInfo> {
    const row = await this.db.apiKey.findFirst({ where: { id, ...(owner ? ownerWhere(owner) : {}) }, select: SELECT });
    if (!row) throw new DomainError('not_found', { detail: `no api key ${id.slice(0, 16)}` });
    return info(row);
  }

  /** Revokes a key (idempotent); not_found when it is not the owner's. */
  async revoke(id: string, owner: ApiKeyOwner | undefined, actor: Actor, meta: RequestMeta): Promise<ApiKeyInfo> {
    const key = await this.get(id, owner);
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } });
      if (count > 0)
        await audit(tx, meta, now, {
          type: 'api_key_revoked',
          userId: key.owner.kind === 'user' ? key.owner.userId : null,
          reason: `${id} by ${actorName(actor)}`,
        });
      return info((await tx.apiKey.findUnique({ where: { id }, select: SELECT }))!);
    });
  }

  /**
   * A new key with the same owner, name and scopes (checked again: the owner's rights may have shrunk); the old
   * one keeps working for `overlapSeconds` (never past its own expiry), then stops. One statement claims the
   * old key, so two rolls at once make one new key.
   */
  async roll(
    id: string,
    owner: ApiKeyOwner | undefined,
    opts: { overlapSeconds: number; expiresIn?: number | undefined },
    actor: Actor,
    meta: RequestMeta,
  ) {
    const old = await this.get(id, owner);
    await this.assertScopes(old.owner, old.scopes);
    const now = this.clock.now();
    const ttl = this.ttl(opts.expiresIn);
    const until = new Date(Math.min(old.expiresAt.getTime(), now.getTime() + opts.overlapSeconds * 1000));
    return this.db.$transaction(async (tx) => {
      // A user's key: the user's row first, as the account's deletion takes it before the keys it removes (the
      // new key's row needs the user's row shared: taken after the old key's, the two deadlocked).
      if (old.owner.kind === 'user') await lockUser(tx, old.owner.userId);
      // The claim: live and not rolled yet, in one statement.
      const claimed = await tx.$executeRaw`
        UPDATE api_keys SET rolled_at = ${now}, expires_at = LEAST(expires_at, ${until})
        WHERE id = ${id} AND revoked_at IS NULL AND rolled_at IS NULL AND expires_at > ${now}`;
      if (claimed === 0)
        throw new DomainError('api_key_not_rollable', { detail: `key ${id} revoked, expired or rolled` });
      const made = await this.insert(
        tx,
        old.owner,
        old.name,
        old.scopes,
        now,
        new Date(now.getTime() + ttl * 1000),
        id,
      );
      await audit(tx, meta, now, {
        type: 'api_key_rolled',
        userId: old.owner.kind === 'user' ? old.owner.userId : null,
        reason: `${id} -> ${made.info.id}, old until ${until.toISOString()}, by ${actorName(actor)}`,
      });
      return made;
    });
  }

  /**
   * Anyone may report a leaked key (a secret scanner, a stranger who found it): a genuine, live key is
   * revoked and its owner told by email (when email is on). Returns nothing: the caller's answer must be the
   * same whether the key existed or not.
   */
  async reportLeak(key: string, meta: RequestMeta): Promise<void> {
    const parsed = parseApiKey(key);
    if (!parsed) return;
    const mac = macOf(this.pepper, key);
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string; name: string; user_id: string | null; email: string | null }[]>`
        WITH revoked AS (
          UPDATE api_keys SET revoked_at = ${now}
          WHERE id = ${parsed.id} AND mac = ${mac} AND revoked_at IS NULL
          RETURNING id, name, user_id)
        SELECT r.id, r.name, r.user_id::text AS user_id, u.email
        FROM revoked r LEFT JOIN users u ON u.id = r.user_id`;
      const row = rows[0];
      if (!row) return;
      await audit(tx, meta, now, { type: 'api_key_leak_reported', userId: row.user_id, reason: `${row.id} revoked` });
      if (row.email && this.leakNotice)
        await enqueueMail(
          tx,
          this.leakNotice(row.email, { key_id: row.id, key_name: row.name, time: now.toISOString() }),
          now,
        );
    });
  }

  private ttl(expiresIn: number | undefined): number {
    const ttl = expiresIn ?? this.settings.defaultTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > this.settings.maxTtlSeconds)
      throw new DomainError('api_key_expiry_invalid', {
        message: `expires_in must be 60 to ${this.settings.maxTtlSeconds} seconds.`,
      });
    return ttl;
  }

  /** Scopes ⊆ what the owner may do now: a user's roles, a service client's configured scopes. */
  private async assertScopes(owner: ApiKeyOwner, scopes: string[]): Promise<void> {
    let rights: string[];
    if (owner.kind === 'user') {
      const user = await this.db.user.findUnique({
        where: { id: owner.userId },
        select: { disabledAt: true, roles: { select: { role: true } } },
      });
      if (!user) throw new DomainError('not_found', { detail: 'no such user' });
      if (user.disabledAt) throw new DomainError('account_disabled');
      rights = user.roles.map((r) => r.role);
    } else {
      const client = this.clients.get(owner.clientId);
      if (!client) throw new DomainError('not_found', { detail: `no service client ${owner.clientId.slice(0, 64)}` });
      rights = client.scopes;
    }
    const refused = scopes.filter((s) => !rights.includes(s));
    if (refused.length > 0)
      throw new DomainError('invalid_scope', {
        detail: `${ownerName(owner)} lacks ${refused.join(' ').slice(0, 200)}`,
      });
  }

  private async insert(
    tx: Pick<PrismaClient, 'apiKey'>,
    owner: ApiKeyOwner,
    name: string,
    scopes: string[],
    now: Date,
    expiresAt: Date,
    rolledFrom: string | null,
  ) {
    const id = newApiKeyId();
    const key = newApiKey(id);
    const row = await tx.apiKey.create({
      data: {
        id,
        ...ownerWhere(owner),
        name,
        scopes: [...new Set(scopes)].sort(),
        mac: macOf(this.pepper, key),
        createdAt: now,
        expiresAt,
        rolledFrom,
      },
      select: SELECT,
    });
    return { key, info: info(row) };
  }
}
