// A user who signed up through a provider has no password. Setting the first one needs no current
// password (there is none), so what stands in for it is a recent login: the HTTP edge checks the access
// token's auth_time (src/domain/accounts/recent-auth.ts, RECENT_LOGIN_SECONDS). Here: the rules of a password, and
// "first" held atomically, so this can never overwrite a password someone set meanwhile, nor set one from a
// session that ended meanwhile.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { PasswordHasher } from '../accounts/passwords.js';
import { assertNewPassword } from '../accounts/password-policy.js';
import { LOCKING_TX } from '../transactions.js';

export async function setFirstPassword(
  db: PrismaClient,
  passwords: PasswordHasher,
  clock: Clock,
  user: { userId: string; sessionId: string },
  password: string,
  meta: RequestMeta,
): Promise<void> {
  assertNewPassword(password);
  const passwordHash = await passwords.hash(password);
  const now = clock.now();
  await db.$transaction(async (tx) => {
    // The user's row first (a take-back, a reset or a sign-out everywhere that is committing is waited for), so
    // the statement after it sees what they committed: only a session still live sets the first password. Taken
    // back while this one was hashing (the password removed, every session ended), the account gets no password
    // from the session that was ended.
    await tx.$queryRaw`SELECT id::text FROM users WHERE id = ${user.userId}::uuid FOR UPDATE`;
    const count = await tx.$executeRaw`UPDATE users SET password_hash = ${passwordHash}, updated_at = ${now}
      WHERE id = ${user.userId}::uuid AND password_hash IS NULL
        AND EXISTS (SELECT 1 FROM sessions WHERE id = ${user.sessionId}::uuid AND user_id = ${user.userId}::uuid
                    AND revoked_at IS NULL)`;
    if (count === 0) {
      const live = await tx.session.count({ where: { id: user.sessionId, userId: user.userId, revokedAt: null } });
      throw live
        ? new DomainError('password_already_set')
        : new DomainError('session_revoked', { detail: 'the session ended while its first password was set' });
    }
    await audit(tx, meta, now, {
      type: 'password_changed',
      userId: user.userId,
      sessionId: user.sessionId,
      reason: 'first password',
    });
  }, LOCKING_TX);
}
