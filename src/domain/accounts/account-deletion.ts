// Deleting an account, by an admin or by its owner: what identifies the person goes with it, in the one
// transaction that deletes the user row. Sessions end first (anything reading them in between sees them
// ended) and then go with the user, with its roles and identities; pending email tokens, and mail to any
// address the account had, are deleted; its audit rows stay as evidence but lose the addresses and user
// agents (the user id they keep points at nothing). The owner may delete their own account only with a
// login at most RECENT_LOGIN_SECONDS old: a stolen, older access token cannot.
import type { PrismaClient, Prisma } from '../../generated/prisma/client.js';
import type { RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { Actor } from '../actor.js';
import { endSessions } from '../sessions/session-end.js';
import { LOCKING_TX } from '../transactions.js';
import { assertAnotherAdminRemains } from './last-admin.js';
import { requireRecentAuth } from './recent-auth.js';

/**
 * Erases the account inside `tx`; how many sessions ended. not_found when there is no such user (also for
 * the second of two deletions racing: the row lock makes the loser wait, then find nothing).
 */
export async function eraseAccount(
  tx: Prisma.TransactionClient,
  userId: string,
  by: { kind: 'self' } | { kind: 'admin'; actor: Actor },
  meta: RequestMeta,
  now: Date,
): Promise<number> {
  // The last enabled admin stays, whoever deletes it (an admin, or its owner through DELETE /auth/account). Its
  // lock comes first, before the user's row, in the order every change to the set of admins takes them (an
  // admin's disable, a demotion): the other order deadlocked against a disable of the same account.
  await assertAnotherAdminRemains(
    tx,
    userId,
    by.kind === 'admin' ? by.actor : { kind: 'user', id: userId },
    'deletion',
  );
  const user = await tx.$queryRaw<{ email: string }[]>`
    SELECT email FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
  if (user.length === 0) throw new DomainError('not_found', { detail: 'no such user' });
  // Every address the account had or was about to have: the current one and those its tokens were sent to.
  await tx.$executeRaw`
    DELETE FROM mail_outbox WHERE lower(recipient) IN (
      SELECT lower(${user[0]!.email}) UNION SELECT lower(email) FROM email_tokens WHERE user_id = ${userId}::uuid
    )`;
  await tx.$executeRaw`DELETE FROM email_tokens WHERE user_id = ${userId}::uuid`;
  await tx.$executeRaw`
    UPDATE audit_events SET ip = NULL, user_agent = NULL
    WHERE (user_id = ${userId}::uuid OR session_id IN (SELECT id FROM sessions WHERE user_id = ${userId}::uuid))
      AND (ip IS NOT NULL OR user_agent IS NOT NULL)`;
  // The end writes the deletion's own audit row (account_deleted, who acted, how many sessions ended), after
  // the rows above lost what identifies the person: an admin's request keeps its own address.
  const ended = await endSessions(tx, { which: { userId }, reason: 'account_deleted', by }, meta, now);
  // After the sessions, in the order endSessions takes them (it removes them too when a session was live).
  await tx.$executeRaw`DELETE FROM oauth_flows WHERE link_user_id = ${userId}::uuid`;
  await tx.user.delete({ where: { id: userId } });
  return ended.length;
}

export class AccountDeletion {
  constructor(
    private readonly db: PrismaClient,
    private readonly clock: Clock,
    private readonly recentLoginSeconds: number,
  ) {}

  /** The owner deletes their own account; `authTime` is when the access token's session logged in. */
  async deleteOwn(userId: string, authTime: number | undefined, meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    requireRecentAuth(authTime, now, this.recentLoginSeconds);
    await this.db.$transaction(async (tx) => {
      // The person is gone: their own request's address and user agent are not kept either.
      await eraseAccount(tx, userId, { kind: 'self' }, { requestId: meta.requestId, ip: '' }, now);
    }, LOCKING_TX);
  }
}
