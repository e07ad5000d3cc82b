// Giving an account back to whoever proves its address, when someone else may have held it: the one owner of
// "what an earlier holder leaves behind stops working". Two callers:
//   - a trusted provider vouches for an address whose account was never verified (src/domain/federation/
//     identities.ts): whoever registered it may have been an attacker waiting for the real owner
//     (pre-account takeover), so their password, identities, second factors (apps, recovery codes, passkeys)
//     and sessions go before the identity is linked;
//   - the undo link of an address change (email-change.ts): someone else changed the address, and whatever
//     they set since (a password through a reset mailed to the new address, an identity, a second factor)
//     must not survive.
// After it the account has no password: its owner sets one through "forgot password" at the address they
// proved (or signs in with the provider that vouched for them). It runs in the caller's transaction, and locks
// the user row first, so a login checking the old password at the same instant either commits before it (and
// its session is ended here) or finds the password changed (src/domain/sessions/refresh-rotation.ts).
import type { Prisma } from '../../generated/prisma/client.js';
import type { RequestMeta } from '../audit.js';
import { endSessions, type EndReason } from '../sessions/session-end.js';
import { spendPending } from './email-tokens.js';

export interface Reclaimed {
  passwordRemoved: boolean;
  identitiesRemoved: number;
  sessionsEnded: number;
}

/**
 * Removes the user's password, identities and second factors (with `identitiesSince`, only those added since
 * then; without it the failure count too), ends every session and spends every pending email link. The end's audit row (of `reason`'s type) says `why` and what went.
 */
export async function reclaimAccount(
  tx: Prisma.TransactionClient,
  userId: string,
  now: Date,
  meta: RequestMeta,
  end: { reason: EndReason; why: string },
  identitiesSince: Date | null = null,
): Promise<Reclaimed> {
  const [row] = await tx.$queryRaw<{ had_password: boolean }[]>`
    SELECT password_hash IS NOT NULL AS had_password FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
  if (!row) return { passwordRemoved: false, identitiesRemoved: 0, sessionsEnded: 0 };
  if (row.had_password) await tx.user.update({ where: { id: userId }, data: { passwordHash: null } });
  const since = identitiesSince ? { createdAt: { gte: identitiesSince } } : {};
  const { count: identitiesRemoved } = await tx.identity.deleteMany({ where: { userId, ...since } });
  // The earlier holder's second factors: an app, recovery codes or a passkey of theirs would still open the
  // account (or hold its owner at a second step they cannot answer).
  await tx.mfaFactor.deleteMany({ where: { userId, ...since } });
  await tx.mfaRecoveryCode.deleteMany({ where: { userId, ...since } });
  await tx.webauthnCredential.deleteMany({ where: { userId, ...since } });
  if (!identitiesSince) await tx.mfaGuard.deleteMany({ where: { userId } });
  await spendPending(tx, userId, now);
  const note = `${end.why}: password ${row.had_password ? 'removed' : 'none'}, ${identitiesRemoved} identities removed`;
  const ended = await endSessions(tx, { which: { userId }, reason: end.reason, by: { kind: 'self' }, note }, meta, now);
  return { passwordRemoved: row.had_password, identitiesRemoved, sessionsEnded: ended.length };
}
