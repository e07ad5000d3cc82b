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
import { lockUser, sessionStillLive } from '../accounts/user-lock.js';

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
    // Only from a session still live (user-lock.ts): an account taken back while this one was hashing (the
    // password removed, every session ended) gets no password from the session that was ended.
    await lockUser(tx, user.userId);
    if (!(await sessionStillLive(tx, user.userId, user.sessionId)))
      throw new DomainError('session_revoked', { detail: 'the session ended while its first password was set' });
    const { count } = await tx.user.updateMany({
      where: { id: user.userId, passwordHash: null },
      data: { passwordHash },
    });
    if (count === 0) throw new DomainError('password_already_set');
    await audit(tx, meta, now, {
      type: 'password_changed',
      userId: user.userId,
      sessionId: user.sessionId,
      reason: 'first password',
    });
  }, LOCKING_TX);
}
