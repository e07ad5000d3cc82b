// The email flows' services (issue 11), built when EMAIL_FLOWS is on: templates, the outbox, the per-email
// send limit, and the flows over them. Kept apart from src/services.ts so the flows can be switched off whole.
import type { Redis } from 'ioredis';
import { RedisSendLimitStore } from './db/redis-send-limit.js';
import { Outbox } from './domain/mail/outbox.js';
import { MemorySendLimitStore, SendLimit } from './domain/mail/send-limit.js';
import { MailTemplates } from './domain/mail/templates.js';
import { EmailChange } from './domain/recovery/email-change.js';
import { EmailVerification } from './domain/recovery/email-verification.js';
import { PasswordReset } from './domain/recovery/password-reset.js';
import { SecurityNotices } from './domain/recovery/security-notices.js';
import type { Services } from './services.js';

export interface RecoveryServices {
  templates: MailTemplates;
  outbox: Outbox;
  passwordReset: PasswordReset;
  verification: EmailVerification;
  emailChange: EmailChange;
  notices: SecurityNotices;
}

export async function createRecoveryServices(
  services: Services,
  redis: Redis | undefined,
  onRedisError: (err: Error) => void,
): Promise<RecoveryServices> {
  const { config, clock, database, passwords, accounts } = services;
  const mail = config.mail;
  const templates = await MailTemplates.load(mail.productName, mail.templatesDir);
  const store = redis ? new RedisSendLimitStore(redis, onRedisError) : new MemorySendLimitStore();
  const sendLimit = new SendLimit(store, mail.perEmailPerHour, clock);
  const notices = new SecurityNotices(templates);
  if (mail.securityNotices) services.rotation.onReuse(notices.onRefreshReuse);
  return {
    templates,
    outbox: new Outbox(database.sql),
    passwordReset: new PasswordReset(
      database.prisma,
      passwords,
      templates,
      sendLimit,
      { linkBase: mail.passwordResetUrl, ttlSeconds: mail.passwordResetTtl },
      clock,
      (email, ip) => accounts.forgetFailedLogins(email, ip),
    ),
    verification: new EmailVerification(
      database.prisma,
      templates,
      sendLimit,
      { linkBase: mail.verifyEmailUrl, ttlSeconds: mail.verifyEmailTtl },
      clock,
    ),
    emailChange: new EmailChange(
      database.prisma,
      passwords,
      templates,
      sendLimit,
      {
        confirmUrl: mail.emailChangeUrl,
        confirmTtlSeconds: mail.verifyEmailTtl,
        undoUrl: mail.emailChangeUndoUrl,
        undoTtlSeconds: mail.emailChangeUndoTtl,
        recentLoginSeconds: config.recentLoginSeconds,
      },
      clock,
    ),
    notices,
  };
}
