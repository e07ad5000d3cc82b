// The one SQL condition by which a statement of the token endpoint re-checks the client it was given: the
// client still exists, is enabled and is at the version client authentication saw (oauth_clients.version,
// bumped by every change to the row). Client authentication may have used a per-instance copy of the
// client (src/domain/authz/client-cache.ts); this condition, inside the grant's own statement, is what makes
// that copy safe without a second round trip. It lives with the sessions because an OAuth grant is a session
// (its refresh statement, refresh-rotation.ts, carries the condition too), and the code and device-code
// redemptions in src/domain/oauth/ import it from here: no folder imports the other both ways.
import type { Sql } from '../../db/sql.js';
export const clientAtVersionSql = (id: string, version: string) =>
  `EXISTS (SELECT 1 FROM oauth_clients k WHERE k.id = ${id} AND k.disabled_at IS NULL AND k.version = ${version}::int)`;

/** The client a grant's statement checks: its id and the version authentication saw. */
export interface ClientAtVersion {
  id: string;
  version: number;
}

/** The same condition on its own (one indexed read): for a path that has no statement of its own to put it in. */
export async function clientIsAt(sql: Sql, client: ClientAtVersion): Promise<boolean> {
  const rows = await sql.query<{ ok: number }>(`SELECT 1 AS ok WHERE ${clientAtVersionSql('$1', '$2')}`, [
    client.id,
    client.version,
  ]);
  return rows.length > 0;
}
