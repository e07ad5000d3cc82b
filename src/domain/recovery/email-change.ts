// Changing the account's address. The user proves it is them: the current password, or a login at most
// RECENT_LOGIN_SECONDS old. Then the new address gets a confirmation link and the old one a notice. An address
// that already has an account (or a look-alike of one) gets the same answer, so the form can't test which
// addresses have accounts: no link is sent, and the owner of that account is told instead. Nothing
// changes until the link is followed. At that point the address changes (verified, since the link proved it),
// and the old address gets a link that undoes the change for EMAIL_CHANGE_UNDO_TTL_SECONDS. Undoing restores
// the old address and gives the account back to its owner (account-reclaim.ts), because an unwanted change
// means someone else had the account: every session ends, the password stops working (it was either known to
// whoever asked for the change or set by them since, e.g. through a reset mailed to the new address) until the
// owner sets one through "forgot password" at the restored address, and identities linked since the change was
// asked for are removed.
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { emailSkeleton, normalizeEmail } from '../accounts/emails.js';
import { enqueueMail } from '../mail/outbox.js';
import type { SendLimit } from '../mail/send-limit.js';
import { durationText, linkWithToken, type MailTemplates } from '../mail/templates.js';
import type { PasswordGuard } from '../accounts/password-guard.js';
import { requireRecentAuth } from '../accounts/recent-auth.js';
import { LOCKING_TX } from '../transactions.js';
import { lockUser, sessionStillLive } from '../accounts/user-lock.js';
import { reclaimAccount } from './account-reclaim.js';
import { consumeAddressToken, hashToken, insertToken, newToken, spendOthers } from './email-tokens.js';

export interface EmailChangeSettings {
  confirmUrl: string;
  confirmTtlSeconds: number;
  undoUrl: string;
  undoTtlSeconds: number;
  recentLoginSeconds: number;
}

export interface ChangeRequest {
  userId: string;
  /** The session of the access token, for the audit rows. */
  sessionId?: string;
  /** When the session of the access token started (its auth_time, seconds since the epoch). */
  authTime: number | undefined;
  newEmail: string;
  currentPassword?: string | undefined;
}

export class EmailChange {
  constructor(
    private readonly db: PrismaClient,
    private readonly passwordGuard: PasswordGuard,
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
      // The one guarded check: throttled with logins of this account from this address, audited.
      // An account made through a provider has no password: any password given is the wrong one.
      await this.passwordGuard.check(
        {
          purpose: 'email_change',
          email: user.email,
          password: req.currentPassword,
          meta,
          userId: req.userId,
          ...(req.sessionId ? { sessionId: req.sessionId } : {}),
        },
        async () => ({ userId: req.userId, passwordHash: user.passwordHash }),
      );
    } else {
      requireRecentAuth(req.authTime, this.clock.now(), this.settings.recentLoginSeconds);
    }
    if (newEmail === user.email)
      throw new DomainError('invalid_email', { message: 'This is already the address of the account.' });
    // Counted whether or not the address is taken: the answer must not tell the two apart.
    if (!(await this.sendLimit.allow('email_change', newEmail))) {
      throw new DomainError('too_many_requests', {
        retryAfter: 3600,
        detail: 'email change messages to this address over the hourly allowance',
      });
    }
    const owner = await this.ownerOf(newEmail);
    // A look-alike is a different address with its own allowance: the owner's own caps the notices, silently.
    const notifyOwner =
      owner !== null && (owner.email === newEmail || (await this.sendLimit.allow('email_change', owner.email)));
    const { token, hash } = newToken();
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      // The user's row first: a reset, an undo or a sign-out everywhere that committed while the password was
      // being checked is waited for and seen by the statement after it, and then nothing is asked for: a reset
      // spends every pending link, and must not be followed by one made from a session it ended. (A password
      // changed from another session ended this one too; a login's re-hash of the same password changes nothing.)
      await lockUser(tx, req.userId);
      if (req.sessionId && !(await sessionStillLive(tx, req.userId, req.sessionId)))
        throw new DomainError('session_revoked', { detail: 'the session ended during an email change request' });
      if (owner) {
        // Taken (or a look-alike of a taken one): no link, and its owner hears of it instead of the asker.
        if (notifyOwner)
          await enqueueMail(
            tx,
            this.templates.render('email_change_taken', owner.email, {
              new_email: newEmail,
              time: now.toISOString(),
              ip: meta.ip,
            }),
            now,
          );
      } else {
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
      }
      await enqueueMail(
        tx,
        this.templates.render('email_change_requested', user.email, {
          new_email: newEmail,
          time: now.toISOString(),
          ip: meta.ip,
        }),
        now,
      );
      await audit(tx, meta, now, {
        type: 'email_change_requested',
        userId: req.userId,
        ...(owner ? { reason: 'address taken: its owner was told' } : {}),
      });
    }, LOCKING_TX);
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

  /**
   * Follows the undo link sent to the old address: it is restored (verified), and the account goes back to its
   * owner: sessions ended, password removed, identities linked since the change was asked for removed.
   */
  async undo(token: string, meta: RequestMeta): Promise<{ userId: string; ended: number }> {
    const now = this.clock.now();
    const done = await this.write(async (tx) => {
      const grant = await consumeAddressToken(tx, token, 'email_change_undo', now);
      if (!grant) return null;
      const askedAt = await this.changeAskedAt(tx, grant.userId, token, now);
      await tx.user.update({
        where: { id: grant.userId },
        data: { email: grant.email, emailSkeleton: emailSkeleton(grant.email), emailVerifiedAt: now },
      });
      const reclaimed = await reclaimAccount(
        tx,
        grant.userId,
        now,
        meta,
        { reason: 'email_change_undone', why: 'address change undone' },
        askedAt,
      );
      return { userId: grant.userId, ended: reclaimed.sessionsEnded };
    });
    if (!done)
      throw new DomainError('email_token_invalid', {
        detail: 'undo token unknown, used, expired or of another purpose',
      });
    return done;
  }

  /**
   * When the change this undo link belongs to was asked for: the confirmation spent at the instant the undo link
   * was made. Everything linked to the account since then may be the intruder's.
   */
  private async changeAskedAt(
    tx: Prisma.TransactionClient,
    userId: string,
    undoToken: string,
    now: Date,
  ): Promise<Date> {
    const [row] = await tx.$queryRaw<{ asked_at: Date | null }[]>`
      SELECT min(c.created_at) AS asked_at FROM email_tokens c JOIN email_tokens u
        ON u.token_hash = ${hashToken(undoToken)} AND c.used_at = u.created_at
      WHERE c.user_id = ${userId}::uuid AND c.purpose = 'email_change'`;
    return row?.asked_at ?? now;
  }

  /** The account that has this address, or one that looks like it (same skeleton), if any. */
  private ownerOf(email: string): Promise<{ email: string } | null> {
    return this.db.user.findFirst({
      where: { OR: [{ email }, { emailSkeleton: emailSkeleton(email) }] },
      select: { email: true },
    });
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
