// A connected app on the wire: the same shape for the user's own list (/auth/apps) and an admin's view of a
// user's apps (/admin/users/{id}/apps), so the two can't drift apart.
import { Type } from 'typebox';
import type { ConnectedApp } from '../domain/oauth/consents.js';

const ConnectedAppSchema = Type.Object(
  {
    client_id: Type.String(),
    client_name: Type.String(),
    scope: Type.String(),
    granted_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { additionalProperties: false },
);

export const ConnectedAppsSchema = Type.Object({ apps: Type.Array(ConnectedAppSchema) });

export function connectedAppsOut(apps: ConnectedApp[]) {
  return {
    apps: apps.map((a) => ({
      client_id: a.clientId,
      client_name: a.name,
      scope: a.scopes.join(' '),
      granted_at: a.grantedAt?.toISOString() ?? null,
      last_used_at: a.lastUsedAt?.toISOString() ?? null,
    })),
  };
}
