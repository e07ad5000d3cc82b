// An administrator resets a user's second factors: the way back for someone who lost their authenticator, their
// passkeys and their recovery codes. One transaction removes every second factor (authenticator apps, active or
// pending, every passkey and any passkey challenge still open for the user), the recovery codes and the failure
// count, ends every session of the user, and writes one audit row (mfa_factors_reset, by endSessions, with the
// sessions it ended) and the email to the owner (notices.ts).
//
// Passkeys go too: a lost phone usually holds both the authenticator app and a synced passkey, and a reset that
// leaves a passkey leaves whoever holds the device a second factor (and a passwordless way in). Sessions end for
// the same reason: a session started with the lost device would otherwise outlive the reset. An account left
// with no password and no provider gets back in with the emailed password reset (which works for any account
// with an address), then enrols again where a role or a client demands it.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { actorName, type Actor } from '../actor.js';
import type { RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { isUuid } from '../ids.js';
import { endSessions } from '../sessions/session-end.js';
import { LOCKING_TX } from '../transactions.js';
import type { MfaNotices } from './notices.js';

export interface ResetOutcome {
  /** Active authenticator apps removed. */
  factors: number;
  /** Passkeys removed. */
  passkeys: number;
  /** Live sessions ended. */
  sessions: number;
}

export class FactorReset {
  constructor(
    private readonly db: PrismaClient,
    private readonly notices: MfaNotices,
    private readonly clock: Clock,
  ) {}

  async reset(userId: string, actor: Actor, meta: RequestMeta): Promise<ResetOutcome> {
    if (!isUuid(userId)) throw new DomainError('not_found', { detail: 'no such user' });
    // One's own factors go through DELETE /auth/mfa/factors/{id}, which asks for a step-up: an admin token
    // alone (a stolen one, or a sign-in without the factor) must not strip its own account's second factor.
    if (actor.kind === 'user' && actor.id === userId)
      throw new DomainError('mfa_reset_own_account', { detail: 'an admin reset of the caller’s own account' });
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      const [user] = await tx.$queryRaw<{ id: string }[]>`
        SELECT id::text AS id FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
      if (!user) throw new DomainError('not_found', { detail: 'no such user' });
      const removed = await tx.$queryRaw<{ confirmed: boolean }[]>`
        DELETE FROM mfa_factors WHERE user_id = ${userId}::uuid AND type = 'totp'
        RETURNING confirmed_at IS NOT NULL AS confirmed`;
      const passkeys = await tx.$executeRaw`DELETE FROM webauthn_credentials WHERE user_id = ${userId}::uuid`;
      await tx.$executeRaw`DELETE FROM webauthn_challenges WHERE user_id = ${userId}::uuid`;
      await tx.$executeRaw`DELETE FROM mfa_recovery_codes WHERE user_id = ${userId}::uuid`;
      await tx.$executeRaw`DELETE FROM mfa_guards WHERE user_id = ${userId}::uuid`;
      const factors = removed.filter((r) => r.confirmed).length;
      // endSessions writes the reset's one audit row (it names the admin and counts the sessions ended).
      const ended = await endSessions(
        tx,
        {
          which: { userId, liveAt: now },
          reason: 'factors_reset',
          by: { kind: 'admin', actor },
          note: `factors=${factors} passkeys=${passkeys}`,
        },
        meta,
        now,
      );
      await this.notices.mail(
        tx,
        {
          mail: 'mfa_factor_removed',
          userId,
          vars: {
            factor: 'every authenticator app, passkey and recovery code',
            by: `by an administrator, ${actorName(actor)}`,
          },
        },
        meta,
        now,
      );
      return { factors, passkeys, sessions: ended.length };
    }, LOCKING_TX);
  }
}
