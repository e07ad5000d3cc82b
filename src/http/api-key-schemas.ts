// The wire shapes of API keys, shared by the user's routes (src/routes/api-keys.ts) and the admin's
// (src/routes/admin-api-keys.ts), so both answer the same fields in snake_case, and neither can leak the
// stored hash (the serializer drops what these don't name).
import { Type } from 'typebox';
import type { ApiKeyInfo } from '../domain/api-keys/api-keys.js';

const ScopeList = Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:/-]+$' }), {
  maxItems: 50,
});

export const NewApiKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: ScopeList,
    /** Seconds; default API_KEY_DEFAULT_TTL_SECONDS, at most API_KEY_MAX_TTL_SECONDS. */
    expires_in: Type.Optional(Type.Integer({ minimum: 60 })),
  },
  { additionalProperties: false },
);

export const RollBody = Type.Object(
  {
    /** How long the old key keeps working, in seconds (never past its own expiry); default 0. */
    overlap_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 2592000 })),
    expires_in: Type.Optional(Type.Integer({ minimum: 60 })),
  },
  { additionalProperties: false },
);

export const ApiKeyParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const DateTime = Type.String({ format: 'date-time' });
const OrNull = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const ApiKeyOut = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    /** The owner: a user id, or a service client's id. */
    user_id: OrNull(Type.String()),
    client_id: OrNull(Type.String()),
    scopes: Type.Array(Type.String()),
    created_at: DateTime,
    expires_at: DateTime,
    revoked_at: OrNull(DateTime),
    last_used_at: OrNull(DateTime),
    rolled_from: OrNull(Type.String()),
  },
  { additionalProperties: false },
);

/** The answer that makes a key: the key itself, once, beside its description. */
export const NewApiKeyOut = Type.Object(
  { ...ApiKeyOut.properties, key: Type.String({ description: 'Shown in this answer only' }) },
  { additionalProperties: false },
);

export const ApiKeyList = Type.Object({ api_keys: Type.Array(ApiKeyOut) }, { additionalProperties: false });

export function apiKeyOut(k: ApiKeyInfo) {
  return {
    id: k.id,
    name: k.name,
    user_id: k.owner.kind === 'user' ? k.owner.userId : null,
    client_id: k.owner.kind === 'client' ? k.owner.clientId : null,
    scopes: k.scopes,
    created_at: k.createdAt.toISOString(),
    expires_at: k.expiresAt.toISOString(),
    revoked_at: k.revokedAt?.toISOString() ?? null,
    last_used_at: k.lastUsedAt?.toISOString() ?? null,
    rolled_from: k.rolledFrom,
  };
}
