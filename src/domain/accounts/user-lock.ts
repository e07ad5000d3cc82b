// The order in which a transaction that changes an account takes its locks: the user's row first, before the rows
// that hang off it (sessions, factors, recovery codes, API keys, roles, link flows). Every such transaction takes
// it the same way, so two of them queue instead of deadlocking; and under READ COMMITTED each statement after it
// sees what a transaction that held it before had committed (a reset, a take-back, a sign-out everywhere).
import type { Prisma } from '../../generated/prisma/client.js';

type Tx = Pick<Prisma.TransactionClient, '$queryRaw'>;

/**
 * Locks the user's row for the rest of the transaction; its rows (none for no such user). A Prisma promise, so it
 * can open a batch transaction too.
 */
export function lockUser(tx: Tx, userId: string) {
  return tx.$queryRaw<{ id: string }[]>`SELECT id::text FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
}

/**
 * Whether `sessionId` is a session of `userId` that has not ended, as a statement run now sees it: after
 * lockUser, a request checked at its start (a password hashed or checked since) acts only if its session is still
 * live.
 */
export async function sessionStillLive(tx: Tx, userId: string, sessionId: string): Promise<boolean> {
  const [row] = await tx.$queryRaw<{ live: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ${sessionId}::uuid AND user_id = ${userId}::uuid
                   AND revoked_at IS NULL) AS live`;
  return row?.live === true;
}

/**
 * For a change a session asked for and that completes later (a provider link, src/domain/federation/
 * identities.ts): takes the user's row and the session's row FOR SHARE, and says whether the session is live at
 * `now` (not ended, not expired). Shared rather than exclusive, in the order user then session: an end of the
 * session (an UPDATE of its row; its audit rows have no foreign key and lock nothing of the user) either
 * committed before and is seen here, or waits for this transaction, and never waits on the user's row itself,
 * so no cycle; a change that takes the user's row FOR UPDATE first (a reset, a take-back, a deletion) queues
 * behind it either way.
 */
export async function holdLiveSession(tx: Tx, userId: string, sessionId: string, now: Date): Promise<boolean> {
  await tx.$queryRaw`SELECT id FROM users WHERE id = ${userId}::uuid FOR SHARE`;
  const [row] = await tx.$queryRaw<{ live: boolean }[]>`
    SELECT (revoked_at IS NULL AND expires_at > ${now}) AS live FROM sessions
    WHERE id = ${sessionId}::uuid AND user_id = ${userId}::uuid FOR SHARE`;
  return row?.live === true;
}
