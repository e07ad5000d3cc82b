// What an operator does to an account: disable it, enable it, delete it, end its sessions. Each change and
// its audit row commit together, and every session ends through endSessions (session-state.ts), the one
// owner of "end a session". The last enabled admin can be neither disabled nor deleted (last-admin.ts).
// Disabling ends the sessions in the same transaction that sets disabled_at; a login racing it either sees
// disabled_at (RefreshRotation.start re-reads the user row under a share lock) or started its session before,
// and then this UPDATE ends it: no disabled account keeps a live session.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { endSessions } from '../sessions/session-state.js';
import { LOCKING_TX } from '../transactions.js';
import { assertAnotherAdminRemains } from './last-admin.js';
import { actorName, type Actor } from './roles.js';

export class AccountAdmin {
  constructor(
    private readonly db: PrismaClient,
    private readonly clock: Clock,
  ) {}

  /**
   * Disables the account and ends every session; returns how many ended. Idempotent: only the call that
   * disabled it writes the audit row. not_found for an unknown user.
   */
  async disable(userId: string, actor: Actor, meta: RequestMeta): Promise<number> {
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      await assertAnotherAdminRemains(tx, userId, actor, 'disabling');
      const changed = await tx.$queryRaw<{ id: string }[]>`
        UPDATE users SET disabled_at = ${now} WHERE id = ${userId}::uuid AND disabled_at IS NULL RETURNING id::text AS id`;
      if (changed.length === 0 && !(await tx.user.findUnique({ where: { id: userId }, select: { id: true } }))) {
        throw new DomainError('not_found', { detail: 'no such user' });
      }
      const ended = await endSessions(tx, { userId }, now, 'account_disabled');
      if (changed.length > 0)
        await audit(tx, meta, now, {
          type: 'account_disabled',
          userId,
          reason: `by ${actorName(actor)}; ${ended.length} sessions ended`,
        });
      return ended.length;
    }, LOCKING_TX);
  }

  async enable(userId: string, actor: Actor, meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.user.updateMany({
        where: { id: userId, disabledAt: { not: null } },
        data: { disabledAt: null },
      });
      if (count === 0) {
        if (!(await tx.user.findUnique({ where: { id: userId }, select: { id: true } })))
          throw new DomainError('not_found', { detail: 'no such user' });
        return;
      }
      await audit(tx, meta, now, { type: 'account_enabled', userId, reason: `by ${actorName(actor)}` });
    }, LOCKING_TX);
  }

  /**
   * Deletes the account. Its sessions end first (so anything reading them in between sees them ended) and
   * then go with the user row, with its roles. Audit rows keep the user id; none holds the email.
   */
  async delete(userId: string, actor: Actor, meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      await assertAnotherAdminRemains(tx, userId, actor, 'deletion');
      const ended = await endSessions(tx, { userId }, now, 'account_deleted');
      const { count } = await tx.user.deleteMany({ where: { id: userId } });
      if (count === 0) throw new DomainError('not_found', { detail: 'no such user' });
      await audit(tx, meta, now, {
        type: 'account_deleted',
        userId,
        reason: `by ${actorName(actor)}; ${ended.length} sessions ended`,
      });
    }, LOCKING_TX);
  }

  /** Ends one session of the user; false if there is no such live session. */
  async endSession(userId: string, sessionId: string, actor: Actor, meta: RequestMeta): Promise<boolean> {
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      const ended = await endSessions(tx, { ids: [sessionId], userId, liveAt: now }, now, 'revoked_by_admin');
      if (ended.length === 0) return false;
      await audit(tx, meta, now, { type: 'session_revoked', userId, sessionId, reason: `by ${actorName(actor)}` });
      return true;
    }, LOCKING_TX);
  }
}
