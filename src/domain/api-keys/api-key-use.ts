// Using an API key (the token exchange at /oauth/token, and introspection): the hot path. One read and,
// at most once a minute per key, one write:
//   1. the format and checksum (api-key-format.ts): a mistyped key costs no statement at all;
//   2. one SELECT by primary key that also reads the owner's rights as they are now (a user's roles and
//      whether the account is disabled; a service client's configured scopes come from SERVICE_CLIENTS), so a
//      revoked role or a revoked key is seen by the next use on every instance: nothing is cached;
//   3. the keyed hash compared in constant time (a decoy when the id is unknown, so both cost the same);
//   4. `last_used_at`, written only when it is a minute old: each instance remembers when it last wrote a key's
//      time, and the UPDATE's own condition keeps instances from writing it more than once a minute between them.
// The key's scopes are intersected with the owner's rights at every use: a key never does more than its owner
// may do now. Every refusal is the same (ApiKeyRefused with a log-only reason).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Sql } from '../../db/sql.js';
import type { Clock } from '../clock.js';
import type { ServiceClients } from '../tokens/service-clients.js';
import { parseApiKey } from './api-key-format.js';

/** Whatever is wrong with a presented key; the reason goes to logs only. */
export class ApiKeyRefused extends Error {
  override name = 'ApiKeyRefused';
}

/** A key that checked out, with what it may do now. */
export interface UsableApiKey {
  id: string;
  owner: { kind: 'user'; userId: string } | { kind: 'client'; clientId: string; audience: string[] | null };
  /** The key's scopes that its owner still has. */
  scopes: string[];
  expiresAt: Date;
  createdAt: Date;
}

/** The keyed hash a key is stored as: HMAC-SHA256 with the pepper, base64url. */
export const macOf = (pepper: Buffer, key: string): string =>
  createHmac('sha256', pepper).update(key, 'utf8').digest('base64url');

const TOUCH_EVERY_MS = 60_000;
const MAX_REMEMBERED = 10_000;

const LOOKUP = `
SELECT k.id, k.user_id::text AS user_id, k.client_id, k.scopes, k.mac, k.created_at, k.expires_at, k.revoked_at,
       k.last_used_at,
       (SELECT array_agg(r.role ORDER BY r.role) FROM user_roles r WHERE r.user_id = k.user_id) AS roles,
       u.disabled_at IS NOT NULL AS disabled
FROM api_keys k LEFT JOIN users u ON u.id = k.user_id
WHERE k.id = $1`;

const TOUCH = `
UPDATE api_keys SET last_used_at = $2::timestamptz
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3::timestamptz)`;

interface KeyRow {
  id: string;
  user_id: string | null;
  client_id: string | null;
  scopes: string[];
  mac: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  roles: string[] | null;
  disabled: boolean | null;
}

export class ApiKeyUse {
  /** When this instance last wrote each key's last_used_at (epoch ms). */
  private readonly touched = new Map<string, number>();
  private readonly decoy: string;

  constructor(
    private readonly sql: Sql,
    private readonly pepper: Buffer,
    private readonly clients: ServiceClients,
    private readonly clock: Clock,
  ) {
    this.decoy = macOf(pepper, 'no such key');
  }

  /** The key's id when its format and checksum are right (no I/O); else ApiKeyRefused. */
  idOf(key: string): string {
    const parsed = parseApiKey(key);
    if (!parsed) throw new ApiKeyRefused('malformed key or wrong checksum');
    return parsed.id;
  }

  /**
   * The key, live, with its owner's current rights; ApiKeyRefused otherwise. `admit` runs once the key is
   * known genuine, before anything is written: the per-key rate limit, which may throw.
   */
  async use(key: string, admit?: (id: string) => Promise<void>): Promise<UsableApiKey> {
    const id = this.idOf(key);
    const [row] = await this.sql.query<KeyRow>(LOOKUP, [id]);
    const presented = Buffer.from(macOf(this.pepper, key));
    const stored = Buffer.from(row?.mac ?? this.decoy);
    const match = presented.length === stored.length && timingSafeEqual(presented, stored);
    if (!row || !match) throw new ApiKeyRefused(`unknown key ${id}`);
    const now = this.clock.now();
    if (row.revoked_at) throw new ApiKeyRefused(`key ${id} revoked`);
    if (row.expires_at.getTime() <= now.getTime()) throw new ApiKeyRefused(`key ${id} expired`);
    const usable = this.withRights(row);
    await admit?.(id);
    await this.touch(id, row.last_used_at, now);
    return usable;
  }

  /**
   * RFC 7662's answer for a key presented at introspection: active with its owner, current scopes and expiry,
   * or inactive (any refusal). Tessera's `api_key` token type (its URN's last part) tells it from a JWT.
   */
  async introspect(key: string, issuer: string, admit?: (id: string) => Promise<void>) {
    let usable: UsableApiKey;
    try {
      usable = await this.use(key, admit);
    } catch (err) {
      if (err instanceof ApiKeyRefused) return { active: false as const };
      throw err;
    }
    const sub = usable.owner.kind === 'user' ? usable.owner.userId : usable.owner.clientId;
    return {
      active: true as const,
      token_type: 'api_key',
      iss: issuer,
      sub,
      ...(usable.owner.kind === 'client' ? { client_id: usable.owner.clientId } : {}),
      scope: usable.scopes.join(' '),
      ...(usable.owner.kind === 'user' && usable.scopes.length > 0 ? { roles: usable.scopes } : {}),
      iat: Math.floor(usable.createdAt.getTime() / 1000),
      exp: Math.floor(usable.expiresAt.getTime() / 1000),
      jti: usable.id,
    };
  }

  private withRights(row: KeyRow): UsableApiKey {
    const base = { id: row.id, expiresAt: row.expires_at, createdAt: row.created_at };
    if (row.user_id) {
      if (row.disabled !== false) throw new ApiKeyRefused(`key ${row.id}: owner disabled or gone`);
      const roles = row.roles ?? [];
      return {
        ...base,
        owner: { kind: 'user', userId: row.user_id },
        scopes: row.scopes.filter((s) => roles.includes(s)),
      };
    }
    const client = this.clients.get(row.client_id ?? '');
    if (!client) throw new ApiKeyRefused(`key ${row.id}: client ${row.client_id} no longer configured`);
    return {
      ...base,
      owner: { kind: 'client', clientId: client.id, audience: client.audience },
      scopes: row.scopes.filter((s) => client.scopes.includes(s)),
    };
  }

  /** last_used_at, at most once a minute per key (see the top of this file). */
  private async touch(id: string, stored: Date | null, now: Date): Promise<void> {
    const t = now.getTime();
    const last = Math.max(this.touched.get(id) ?? 0, stored?.getTime() ?? 0);
    if (t - last < TOUCH_EVERY_MS) return;
    this.touched.delete(id);
    this.touched.set(id, t);
    if (this.touched.size > MAX_REMEMBERED) this.touched.delete(this.touched.keys().next().value!);
    await this.sql.query(TOUCH, [id, now.toISOString(), new Date(t - TOUCH_EVERY_MS).toISOString()]);
  }
}
