// The first admin of a fresh deployment, without a shell on the host: BOOTSTRAP_ADMIN_EMAIL names an account
// that gets the admin role at boot while no account has it. Every instance tries at every boot; the grant and
// its audit row are one statement, so of several instances booting at once exactly one grants and audits,
// and once an admin exists the setting does nothing (remove it after the first boot).
//
// The check ("no admin yet") and the insert are the same statement; two instances racing for the same
// address meet at user_roles' primary key (ON CONFLICT DO NOTHING), so only one row and one audit row result.
import type { Sql } from '../../db/sql.js';

/** What the boot found: the role was granted now, there is an admin already, or there is no such account. */
export type BootstrapOutcome = 'granted' | 'admin_exists' | 'no_account';

const BOOTSTRAP_ACTOR = 'bootstrap';

const GRANT = `
WITH granted AS (
  INSERT INTO user_roles (user_id, role, granted_at, granted_by)
  SELECT u.id, 'admin', $2, '${BOOTSTRAP_ACTOR}' FROM users u
  WHERE u.email = $1 AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.role = 'admin')
  ON CONFLICT DO NOTHING
  RETURNING user_id
)
INSERT INTO audit_events (type, user_id, reason, ip, request_id, created_at)
SELECT 'role_granted', user_id, 'admin by ${BOOTSTRAP_ACTOR} (BOOTSTRAP_ADMIN_EMAIL)', 'local', $3, $2 FROM granted
RETURNING user_id`;

const STATE = `
SELECT EXISTS (SELECT 1 FROM user_roles WHERE role = 'admin') AS admin_exists,
       EXISTS (SELECT 1 FROM users WHERE email = $1) AS account_exists`;

/** Grants `admin` to the account with this (normalized) address if no account is admin yet. */
export async function bootstrapAdmin(
  sql: Sql,
  email: string,
  now: Date,
  requestId: string,
): Promise<{ outcome: BootstrapOutcome; userId?: string }> {
  const [granted] = await sql.query<{ user_id: string }>(GRANT, [email, now, requestId]);
  if (granted) return { outcome: 'granted', userId: granted.user_id };
  const [state] = await sql.query<{ admin_exists: boolean; account_exists: boolean }>(STATE, [email]);
  return { outcome: state?.admin_exists ? 'admin_exists' : 'no_account' };
}
