// Proving an address: a link is sent at registration and on request; following it sets email_verified_at.
// The token is bound to the address it went to: if the address changed since, it proves nothing.
// Whether a user is verified travels in access tokens and /auth/me (email_verified), and with
// REQUIRE_VERIFIED_EMAIL=true an unverified user cannot log in (email_not_verified, after the password
// was found right, so the answer says nothing to someone who doesn't know it).
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { enqueueMail } from '../mail/outbox.js';
import type { SendLimit } from '../mail/send-limit.js';
import { durationText, linkWithToken, type MailTemplates } from '../mail/templates.js';
import { LOCKING_TX } from '../transactions.js';
import { consumeToken, insertToken, newToken } from './email-tokens.js';

export interface VerificationSettings {
  linkBase: string;
  ttlSeconds: number;
}

export class EmailVerification {
  constructor(
    private readonly db: PrismaClient,
    private readonly templates: MailTemplates,
    private readonly sendLimit: SendLimit,
    private readonly settings: VerificationSettings,
    private readonly clock: Clock,
  ) {}

  /** Sends a link to a user just registered (their own transaction: the token and its message commit together). */
  async sendAfterRegistration(user: { id: string; email: string }, meta: RequestMeta): Promise<void> {
    if (!(await this.sendLimit.allow('verify_email', user.email))) return;
    await this.send(user, meta);
  }

  /** Sends a new link to a signed-in user; refuses when already verified or over the hourly allowance. */
  async request(userId: string, meta: RequestMeta): Promise<void> {
    const user = await this.db.user.findUniqueOrThrow({
      where: { id: userId },
      select: { id: true, email: true, emailVerifiedAt: true },
    });
    if (user.emailVerifiedAt) throw new DomainError('email_already_verified');
    if (!(await this.sendLimit.allow('verify_email', user.email))) {
      throw new DomainError('too_many_requests', {
        retryAfter: 3600,
        detail: 'verification emails for this address over the hourly allowance',
      });
    }
    await this.send(user, meta);
  }

  private async send(user: { id: string; email: string }, meta: RequestMeta): Promise<void> {
    const { token, hash } = newToken();
    const now = this.clock.now();
    const mail = this.templates.render('verify_email', user.email, {
      link: linkWithToken(this.settings.linkBase, token),
      valid_for: durationText(this.settings.ttlSeconds),
    });
    await this.db.$transaction(async (tx) => {
      await insertToken(
        tx,
        { hash, purpose: 'verify_email', userId: user.id, email: user.email, ttlSeconds: this.settings.ttlSeconds },
        now,
      );
      await enqueueMail(tx, mail, now);
      await audit(tx, meta, now, { type: 'email_verification_sent', userId: user.id });
    });
  }

  /** Spends the token and marks its address verified. Returns the user. */
  async confirm(token: string, meta: RequestMeta): Promise<{ userId: string }> {
    const now = this.clock.now();
    const userId = await this.db.$transaction(async (tx) => {
      const owner = await consumeToken(tx, token, 'verify_email', now);
      if (!owner) return null;
      await tx.$executeRaw`UPDATE users SET email_verified_at = COALESCE(email_verified_at, ${now}) WHERE id = ${owner.userId}::uuid AND email = ${owner.email}`;
      await audit(tx, meta, now, { type: 'email_verified', userId: owner.userId });
      return owner.userId;
    }, LOCKING_TX);
    if (!userId)
      throw new DomainError('email_token_invalid', {
        detail: 'verification token unknown, used, expired or of another purpose',
      });
    return { userId };
  }
}
