// At least one enabled account keeps the role `admin`: demoting, disabling or deleting the last one (an
// admin doing it to themself included) would leave nobody who can use /admin. The check and the change
// must be one atomic step, or two admins demoting each other at the same instant both see "another admin
// remains" and both succeed. So every such change first takes one transaction-scoped advisory lock (the
// same key everywhere), then counts: changes to the admin set run one after another, and each counts what
// the one before it committed (READ COMMITTED: a statement after the lock sees it).
// The CLI (`npm run users`, working on the database directly) is exempt: it is how an operator grants the
// first admin, and how one is restored, so it never depends on an admin existing.
import type { Prisma } from '../../generated/prisma/client.js';
import { DomainError } from '../domain-error.js';
import type { Actor } from '../actor.js';

export const ADMIN_ROLE = 'admin';

/** pg_advisory_xact_lock key for "the set of admins changes" (an arbitrary constant, unique in Tessera). */
const ADMIN_SET_LOCK = 7_426_001;

type Tx = Pick<Prisma.TransactionClient, '$queryRaw'>;

/**
 * Call at the start of the transaction that demotes, disables or deletes `userId`: refuses with
 * last_admin when it is an enabled admin and no other enabled admin exists.
 */
export async function assertAnotherAdminRemains(tx: Tx, userId: string, actor: Actor, change: string): Promise<void> {
  if (actor.kind === 'cli') return;
  await tx.$queryRaw`SELECT pg_advisory_xact_lock(${ADMIN_SET_LOCK}::bigint)::text AS locked`;
  const [row] = await tx.$queryRaw<{ target: boolean; others: boolean }[]>`
    SELECT
      EXISTS (SELECT 1 FROM user_roles r JOIN users u ON u.id = r.user_id
              WHERE r.role = ${ADMIN_ROLE} AND u.id = ${userId}::uuid AND u.disabled_at IS NULL) AS target,
      EXISTS (SELECT 1 FROM user_roles r JOIN users u ON u.id = r.user_id
              WHERE r.role = ${ADMIN_ROLE} AND u.id <> ${userId}::uuid AND u.disabled_at IS NULL) AS others`;
  if (row?.target && !row.others)
    throw new DomainError('last_admin', { detail: `${change} of the last enabled admin ${userId} refused` });
}
