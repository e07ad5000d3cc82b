// What an operator does to an account: disable it, enable it, delete it, end its sessions. Each change and
// its audit row commit together, and every session ends through endSessions (sessions/session-end.ts), the one
// owner of "end a session" and of its audit row. The last enabled admin can be neither disabled nor deleted
// (last-admin.ts). Disabling ends the sessions in the same transaction that sets disabled_at; a login racing
// it either sees disabled_at (RefreshRotation.start re-reads the user row under a share lock) or started its
// session before, and then this UPDATE ends it: no disabled account keeps a live session.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import { actorName, type Actor } from '../actor.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { endSessions } from '../sessions/session-end.js';
import { eraseAccount } from '../accounts/account-deletion.js';
import { LOCKING_TX } from '../transactions.js';
import type { SessionLifecycle } from '../sessions/session-lifecycle.js';
import { assertAnotherAdminRemains } from '../accounts/last-admin.js';

export class AccountAdmin {
  constructor(
    private readonly db: PrismaClient,
    private readonly lifecycle: SessionLifecycle,
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
      // Already disabled: its sessions ended then, and a disabled account starts none since.
      if (changed.length === 0) return 0;
      const ended = await endSessions(
        tx,
        { which: { userId }, reason: 'account_disabled', by: { kind: 'admin', actor } },
        meta,
        now,
      );
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

  /** Deletes the account and what identifies the person (src/domain/accounts/account-deletion.ts). */
  async delete(userId: string, actor: Actor, meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      await eraseAccount(tx, userId, { kind: 'admin', actor }, meta, now);
    }, LOCKING_TX);
  }

  /** Ends one session of the user; false if there is no such live session. */
  async endSession(userId: string, sessionId: string, actor: Actor, meta: RequestMeta): Promise<boolean> {
    const ended = await this.lifecycle.end(
      {
        which: { ids: [sessionId], userId, liveAt: this.clock.now() },
        reason: 'revoked_by_admin',
        by: { kind: 'admin', actor },
      },
      meta,
    );
    return ended.length > 0;
  }
}
