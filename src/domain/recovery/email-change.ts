// Changing the account's address. The user proves it is them: the current password, or a login at most
// RECENT_LOGIN_SECONDS old. Then the new address gets a confirmation link and the old one a notice. Nothing
// changes until the link is followed. At that point the address changes (verified, since the link proved it),
// and the old address gets a link that undoes the change for EMAIL_CHANGE_UNDO_TTL_SECONDS. Undoing restores
// the old address and ends every session, because an unwanted change means someone else had the account.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { emailSkeleton, normalizeEmail } from '../accounts/emails.js';
import { enqueueMail } from '../mail/outbox.js';
import type { SendLimit } from '../mail/send-limit.js';
import { durationText, linkWithToken, type MailTemplates } from '../mail/templates.js';
import type { PasswordHasher } from '../accounts/passwords.js';
import { requireRecentAuth } from '../accounts/recent-auth.js';
import { endSessions } from '../sessions/session-end.js';
import { LOCKING_TX } from '../transactions.js';
import { consumeAddressToken, insertToken, newToken, spendOthers } from './email-tokens.js';

export interface EmailChangeSettings {
  confirmUrl: string;
  confirmTtlSeconds: number;
  undoUrl: string;
  undoTtlSeconds: number;
  recentLoginSeconds: number;
}

export interface ChangeRequest {
  userId: string;
  /** When the session of the access token started (its auth_time, seconds since the epoch). */
  authTime: number | undefined;
  newEmail: string;
  currentPassword?: string | undefined;
}

export class EmailChange {
  constructor(
    private readonly db: PrismaClient,
    private readonly passwords: PasswordHasher,
    private readonly templates: MailTemplates,
    private readonly sendLimit: SendLimit,
    private readonly settings: EmailChangeSettings,
    private readonly clock: Clock,
  ) {}

  async request(req: ChangeRequest, meta: RequestMeta): Promise<void> {
    const newEmail = normalizeEmail(req.newEmail);
    if (!newEmail) throw new DomainError('invalid_email');
    const user = await this.db.user.findUniqueOrThrow({
      where: { id: req.userId },
      select: { email: true, passwordHash: true },
    });
    if (req.currentPassword !== undefined) {
      // An account made through a provider has no password: any password given is the wrong one.
      if (user.passwordHash === null || !(await this.passwords.verify(user.passwordHash, req.currentPassword)))
        throw new DomainError('current_password_incorrect');
    } else {
      requireRecentAuth(req.authTime, this.clock.now(), this.settings.recentLoginSeconds);
    }
    if (newEmail === user.email)
      throw new DomainError('invalid_email', { message: 'This is already the address of the account.' });
    await this.assertFree(newEmail);
    if (!(await this.sendLimit.allow('email_change', newEmail))) {
      throw new DomainError('too_many_requests', {
        retryAfter: 3600,
        detail: 'email change messages to this address over the hourly allowance',
      });
    }
    const { token, hash } = newToken();
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      await insertToken(
        tx,
        {
          hash,
          purpose: 'email_change',
          userId: req.userId,
          email: newEmail,
          ttlSeconds: this.settings.confirmTtlSeconds,
        },
        now,
      );
      await enqueueMail(
        tx,
        this.templates.render('email_change_confirm', newEmail, {
          old_email: user.email,
          link: linkWithToken(this.settings.confirmUrl, token),
          valid_for: durationText(this.settings.confirmTtlSeconds),
        }),
        now,
      );
      await enqueueMail(
        tx,
        this.templates.render('email_change_requested', user.email, {
          new_email: newEmail,
          time: now.toISOString(),
          ip: meta.ip,
        }),
        now,
      );
      await audit(tx, meta, now, { type: 'email_change_requested', userId: req.userId });
    });
  }

  /** Follows the confirmation link: the address changes, and the old one gets the undo link. */
  async confirm(token: string, meta: RequestMeta): Promise<{ userId: string }> {
    const undo = newToken();
    const now = this.clock.now();
    const userId = await this.write(async (tx) => {
      const grant = await consumeAddressToken(tx, token, 'email_change', now);
      if (!grant) return null;
      const { email: oldEmail } = await tx.user.findUniqueOrThrow({
        where: { id: grant.userId },
        select: { email: true },
      });
      await tx.user.update({
        where: { id: grant.userId },
        data: { email: grant.email, emailSkeleton: emailSkeleton(grant.email), emailVerifiedAt: now },
      });
      await spendOthers(tx, grant.userId, 'email_change', now);
      // Links sent to the old address for other purposes no longer match the account's address, so they are dead already.
      await insertToken(
        tx,
        {
          hash: undo.hash,
          purpose: 'email_change_undo',
          userId: grant.userId,
          email: oldEmail,
          ttlSeconds: this.settings.undoTtlSeconds,
        },
        now,
      );
      await enqueueMail(
        tx,
        this.templates.render('email_change_done', oldEmail, {
          new_email: grant.email,
          time: now.toISOString(),
          link: linkWithToken(this.settings.undoUrl, undo.token),
          valid_for: durationText(this.settings.undoTtlSeconds),
        }),
        now,
      );
      await audit(tx, meta, now, { type: 'email_changed', userId: grant.userId });
      return grant.userId;
    });
    if (!userId)
      throw new DomainError('email_token_invalid', {
        detail: 'email change token unknown, used, expired or of another purpose',
      });
    return { userId };
  }

  /** Follows the undo link sent to the old address: it is restored (verified) and every session ends. */
  async undo(token: string, meta: RequestMeta): Promise<{ userId: string; ended: number }> {
    const now = this.clock.now();
    const done = await this.write(async (tx) => {
      const grant = await consumeAddressToken(tx, token, 'email_change_undo', now);
      if (!grant) return null;
      await tx.user.update({
        where: { id: grant.userId },
        data: { email: grant.email, emailSkeleton: emailSkeleton(grant.email), emailVerifiedAt: now },
      });
      await spendOthers(tx, grant.userId, 'email_change', now);
      const ended = await endSessions(
        tx,
        { which: { userId: grant.userId }, reason: 'email_change_undone', by: { kind: 'self' } },
        meta,
        now,
      );
      return { userId: grant.userId, ended: ended.length };
    });
    if (!done)
      throw new DomainError('email_token_invalid', {
        detail: 'undo token unknown, used, expired or of another purpose',
      });
    return done;
  }

  private async assertFree(email: string): Promise<void> {
    const taken = await this.db.user.findFirst({
      where: { OR: [{ email }, { emailSkeleton: emailSkeleton(email) }] },
      select: { id: true },
    });
    if (taken) throw new DomainError('email_taken');
  }

  /** A transaction whose address write may collide with an account made meanwhile: that is email_taken. */
  private async write<T>(
    fn: (tx: Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.db.$transaction(fn, LOCKING_TX);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'P2002')
        throw new DomainError('email_taken', { detail: 'address taken since the change was asked for' });
      throw err;
    }
  }
}
