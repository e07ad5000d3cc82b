// The email flows' services, built when EMAIL_FLOWS is on: templates, the outbox, the per-email send limit, and
// the flows over them. src/services.ts calls this while it builds the rest, so the flows switch off whole.
import type { Config } from './config.js';
import type { Database } from './db/open.js';
import type { Accounts } from './domain/accounts/accounts.js';
import type { PasswordHasher } from './domain/accounts/passwords.js';
import type { Clock } from './domain/clock.js';
import { Outbox } from './domain/mail/outbox.js';
import { SendLimit, type SendLimitStore } from './domain/mail/send-limit.js';
import { MailTemplates } from './domain/mail/templates.js';
import { EmailChange } from './domain/recovery/email-change.js';
import { EmailVerification } from './domain/recovery/email-verification.js';
import { PasswordReset } from './domain/recovery/password-reset.js';
import { SecurityNotices } from './domain/recovery/security-notices.js';

export interface RecoveryServices {
  templates: MailTemplates;
  outbox: Outbox;
  passwordReset: PasswordReset;
  verification: EmailVerification;
  emailChange: EmailChange;
  notices: SecurityNotices;
}

/** What the flows are built from: src/services.ts hands them over while it builds the rest. */
interface RecoveryDeps {
  config: Config;
  clock: Clock;
  database: Database;
  passwords: PasswordHasher;
  accounts: Accounts;
}

export async function createRecoveryServices(
  { config, clock, database, passwords, accounts }: RecoveryDeps,
  store: SendLimitStore,
): Promise<RecoveryServices> {
  const mail = config.mail;
  const templates = await MailTemplates.load(mail.productName, mail.templatesDir);
  const sendLimit = new SendLimit(store, mail.perEmailPerHour, clock);
  const notices = new SecurityNotices(templates);
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
      accounts.passwordGuard,
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
