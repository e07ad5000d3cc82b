// Forgot password: a link by email, then a new password.
//
// request() answers the same for every address: it looks the address up, then writes a token and the message
// in one transaction. For an address with no account (or one whose hourly allowance is spent) it writes the
// same rows with a made-up user and rolls the transaction back: the same statements, the same time, and
// nothing sent. The caller answers 202 either way.
//
// reset() spends the token, sets the password, ends every session of the user (through the one owner,
// session-state.ts), spends every other pending link of the account and queues a "password changed" notice,
// all in one transaction; then it clears the failed-login throttle of the (address, client) pair that reset it.
// Every link, not only the other resets: an email-change confirmation an intruder asked for must not take the
// address after the owner reset the password. One is kept: the undo of an address change, mailed to the old
// address, which is the owner's way back when the reset was the intruder's (email-change.ts). When the address
// had never been verified, the link is the first proof of who owns it: whoever registered it may not, so what
// they could use goes first (account-reclaim.ts: their identities too) and the address counts as verified.
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { normalizeEmail } from '../accounts/emails.js';
import { enqueueMail } from '../mail/outbox.js';
import type { SendLimit } from '../mail/send-limit.js';
import { durationText, linkWithToken, type MailTemplates } from '../mail/templates.js';
import type { PasswordHasher } from '../accounts/passwords.js';
import { assertNewPassword } from '../accounts/password-policy.js';
import { endSessions } from '../sessions/session-end.js';
import { LOCKING_TX } from '../transactions.js';
import { reclaimAccount } from './account-reclaim.js';
import { consumeToken, insertToken, newToken, spendPending } from './email-tokens.js';

export interface PasswordResetSettings {
  linkBase: string;
  ttlSeconds: number;
}

/** Thrown inside the transaction to roll it back on purpose. */
class Discard extends Error {}

export class PasswordReset {
  constructor(
    private readonly db: PrismaClient,
    private readonly passwords: PasswordHasher,
    private readonly templates: MailTemplates,
    private readonly sendLimit: SendLimit,
    private readonly settings: PasswordResetSettings,
    private readonly clock: Clock,
    /** Forgets failed logins of (email, address) after a reset (Accounts.forgetFailedLogins). */
    private readonly forgetFailedLogins: (email: string, ip: string) => Promise<void>,
  ) {}

  async request(rawEmail: string, meta: RequestMeta): Promise<void> {
    const email = normalizeEmail(rawEmail);
    if (!email) throw new DomainError('invalid_email');
    const user = await this.db.user.findUnique({ where: { email }, select: { id: true, email: true } });
    // Counted for unknown addresses too, so the allowance says nothing about whether an account exists.
    const allowed = await this.sendLimit.allow('password_reset', email);
    const send = user !== null && allowed;
    const { token, hash } = newToken();
    const now = this.clock.now();
    const mail = this.templates.render('password_reset', email, {
      link: linkWithToken(this.settings.linkBase, token),
      valid_for: durationText(this.settings.ttlSeconds),
    });
    try {
      await this.db.$transaction(async (tx) => {
        await insertToken(
          tx,
          {
            hash,
            purpose: 'password_reset',
            userId: user?.id ?? randomUUID(),
            email,
            ttlSeconds: this.settings.ttlSeconds,
          },
          now,
        );
        await enqueueMail(tx, mail, now);
        if (!send) throw new Discard();
      });
    } catch (err) {
      if (!(err instanceof Discard)) throw err;
    }
    await audit(this.db, meta, now, {
      type: 'password_reset_requested',
      userId: user?.id ?? null,
      reason: send ? 'sent' : user ? 'limited' : 'unknown_email',
    });
  }

  /** Returns the user whose password was reset and how many sessions ended. */
  async reset(token: string, newPassword: string, meta: RequestMeta): Promise<{ userId: string; ended: number }> {
    assertNewPassword(newPassword);
    const passwordHash = await this.passwords.hash(newPassword);
    const now = this.clock.now();
    const done = await this.db.$transaction(async (tx) => {
      const owner = await consumeToken(tx, token, 'password_reset', now);
      if (!owner) return null;
      // The link is the first proof of an address nobody had verified: whoever registered it may not own it, so
      // what they could use goes (their identities too) and the sessions end with it.
      const [state] = await tx.$queryRaw<{ verified: boolean }[]>`
        SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE id = ${owner.userId}::uuid FOR UPDATE`;
      const reclaimed = state?.verified
        ? null
        : await reclaimAccount(tx, owner.userId, now, meta, {
            reason: 'password_reset',
            why: 'the reset proved an unverified address',
          });
      await tx.user.update({
        where: { id: owner.userId },
        data: { passwordHash, ...(reclaimed ? { emailVerifiedAt: now } : {}) },
      });
      await spendPending(tx, owner.userId, now, ['email_change_undo']);
      const endedAll = reclaimed
        ? reclaimed.sessionsEnded
        : (
            await endSessions(
              tx,
              { which: { userId: owner.userId }, reason: 'password_reset', by: { kind: 'self' } },
              meta,
              now,
            )
          ).length;
      await enqueueMail(
        tx,
        this.templates.render('password_changed', owner.email, { time: now.toISOString(), ip: meta.ip }),
        now,
      );
      return { ...owner, ended: endedAll };
    }, LOCKING_TX);
    if (!done)
      throw new DomainError('email_token_invalid', {
        detail: 'reset token unknown, used, expired or of another purpose',
      });
    await this.forgetFailedLogins(done.email, meta.ip);
    return { userId: done.userId, ended: done.ended };
  }
}
