// "Is this the last way into the account?": the one rule for removing a way to sign in (unlinking an identity,
// removing a passkey). An account keeps at least one of: a password, an identity, a passkey. The user row is
// locked FOR UPDATE first, so two removals at once can't take away the last two.
import type { Prisma } from '../../generated/prisma/client.js';
import { DomainError } from '../domain-error.js';

/** What is about to go: an identity or a passkey (its row id). */
export type Removing = { identity: string } | { passkey: string };

/**
 * In the caller's transaction: locks the user and throws last_login_method unless a way to sign in remains
 * once `removing` is gone. Returns false when there is no such user.
 */
export async function lockAndKeepASignInMethod(
  tx: Pick<Prisma.TransactionClient, '$queryRaw'>,
  userId: string,
  removing: Removing,
): Promise<boolean> {
  const identity = 'identity' in removing ? removing.identity : null;
  const passkey = 'passkey' in removing ? removing.passkey : null;
  // Lock first, count after: under READ COMMITTED the count's own snapshot then sees what a removal that held
  // the lock before us committed.
  const [locked] = await tx.$queryRaw<
    { id: string }[]
  >`SELECT id::text FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
  if (!locked) return false;
  const [row] = await tx.$queryRaw<{ has_password: boolean; identities: number; passkeys: number }[]>`
    SELECT u.password_hash IS NOT NULL AS has_password,
      (SELECT count(*) FROM identities i WHERE i.user_id = u.id AND i.id::text IS DISTINCT FROM ${identity})::int
        AS identities,
      (SELECT count(*) FROM webauthn_credentials w WHERE w.user_id = u.id AND w.id::text IS DISTINCT FROM ${passkey})::int
        AS passkeys
    FROM users u WHERE u.id = ${userId}::uuid`;
  if (!row) return false;
  if (!row.has_password && row.identities === 0 && row.passkeys === 0) throw new DomainError('last_login_method');
  return true;
}
