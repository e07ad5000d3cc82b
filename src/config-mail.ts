// The email settings (issue 11), validated at boot with the rest of src/config.ts, kept in their own file so
// the mail flows read as one block. Email flows need a way to send: SMTP_URL, or outside production a folder
// of .eml files, so that `npm start` still needs no server. Production with flows on and no SMTP_URL is a boot
// error rather than a service that silently never delivers a reset link.
import { Type, type Static } from 'typebox';

const Flag = Type.Unsafe<'true' | 'false'>({ type: 'string', enum: ['true', 'false'] });

/** Spread into the env schema of src/config.ts. */
export const MailEnvFields = {
  /** on | off. Default: on where mail can be delivered (SMTP_URL set) or in development (folder delivery). */
  EMAIL_FLOWS: Type.Optional(Type.Unsafe<'on' | 'off'>({ type: 'string', enum: ['on', 'off'] })),
  SMTP_URL: Type.String({ default: '' }),
  MAIL_FROM: Type.String({ default: '' }),
  MAIL_PRODUCT_NAME: Type.String({ minLength: 1, maxLength: 100, default: 'Tessera' }),
  MAIL_OUTBOX_DIR: Type.String({ minLength: 1, default: 'data/outbox' }),
  MAIL_TEMPLATES_DIR: Type.String({ default: '' }),
  /** Logs each dev message's links (which hold tokens): a conscious exception, development only. */
  MAIL_LOG_LINKS: Type.Optional(Flag),
  MAIL_POLL_INTERVAL_MS: Type.Integer({ minimum: 20, maximum: 60000, default: 1000 }),
  MAIL_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 50, default: 12 }),
  MAIL_PER_EMAIL_PER_HOUR: Type.Integer({ minimum: 0, maximum: 1000, default: 5 }),
  PASSWORD_RESET_URL: Type.String({ default: '' }),
  PASSWORD_RESET_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 86400, default: 1800 }),
  EMAIL_VERIFY_URL: Type.String({ default: '' }),
  EMAIL_VERIFY_TTL_SECONDS: Type.Integer({ minimum: 300, maximum: 604800, default: 86400 }),
  EMAIL_CHANGE_URL: Type.String({ default: '' }),
  EMAIL_CHANGE_UNDO_URL: Type.String({ default: '' }),
  EMAIL_CHANGE_UNDO_TTL_SECONDS: Type.Integer({ minimum: 3600, maximum: 2592000, default: 604800 }),
  REQUIRE_VERIFIED_EMAIL: Type.Optional(Flag),
  SECURITY_NOTICES: Type.Optional(Type.Unsafe<'on' | 'off'>({ type: 'string', enum: ['on', 'off'] })),
};

const MailEnv = Type.Object(MailEnvFields);
type MailEnvT = Static<typeof MailEnv>;

export interface MailConfig {
  /** Whether the email routes exist and messages are written to the outbox. */
  enabled: boolean;
  /** undefined = development delivery into `outboxDir`. */
  smtpUrl: string | undefined;
  from: string;
  productName: string;
  outboxDir: string;
  /** Folder whose <template>.subject.txt / .txt / .html files replace the built-in ones. */
  templatesDir: string | undefined;
  logLinks: boolean;
  pollIntervalMs: number;
  maxAttempts: number;
  /** Messages a flow sends to one address per hour (0 = no limit). */
  perEmailPerHour: number;
  passwordResetUrl: string;
  passwordResetTtl: number;
  verifyEmailUrl: string;
  verifyEmailTtl: number;
  requireVerifiedEmail: boolean;
  emailChangeUrl: string;
  emailChangeUndoUrl: string;
  emailChangeUndoTtl: number;
  /** Email the user when refresh-token reuse ends a session. */
  securityNotices: boolean;
}

/** Parses the mail settings; `fail` throws the caller's ConfigError with the message. */
export function mailConfig(
  env: MailEnvT & { NODE_ENV: string },
  issuer: string,
  fail: (message: string) => never,
): MailConfig {
  const production = env.NODE_ENV === 'production';
  const smtpUrl = env.SMTP_URL || undefined;
  if (smtpUrl) checkSmtpUrl(smtpUrl, fail);
  const enabled = env.EMAIL_FLOWS ? env.EMAIL_FLOWS === 'on' : smtpUrl !== undefined || env.NODE_ENV === 'development';
  if (enabled && production && !smtpUrl) {
    fail(
      'invalid configuration: SMTP_URL must be set when NODE_ENV=production and EMAIL_FLOWS=on (smtps://user:password@smtp.example.com)',
    );
  }
  const logLinks = env.MAIL_LOG_LINKS ? env.MAIL_LOG_LINKS === 'true' : env.NODE_ENV === 'development';
  if (logLinks && production)
    fail('invalid configuration: MAIL_LOG_LINKS=true is refused when NODE_ENV=production: links hold tokens');
  const host = new URL(issuer).hostname;
  return {
    enabled,
    smtpUrl,
    from:
      env.MAIL_FROM ||
      `"${env.MAIL_PRODUCT_NAME.replace(/["\\\r\n]/g, '')}" <no-reply@${host.includes('.') ? host : 'localhost.localdomain'}>`,
    productName: env.MAIL_PRODUCT_NAME,
    outboxDir: env.MAIL_OUTBOX_DIR,
    templatesDir: env.MAIL_TEMPLATES_DIR || undefined,
    logLinks,
    pollIntervalMs: env.MAIL_POLL_INTERVAL_MS,
    maxAttempts: env.MAIL_MAX_ATTEMPTS,
    perEmailPerHour: env.MAIL_PER_EMAIL_PER_HOUR,
    passwordResetUrl: linkBase('PASSWORD_RESET_URL', env.PASSWORD_RESET_URL || `${issuer}/reset-password`, fail),
    passwordResetTtl: env.PASSWORD_RESET_TTL_SECONDS,
    verifyEmailUrl: linkBase('EMAIL_VERIFY_URL', env.EMAIL_VERIFY_URL || `${issuer}/verify-email`, fail),
    verifyEmailTtl: env.EMAIL_VERIFY_TTL_SECONDS,
    requireVerifiedEmail: env.REQUIRE_VERIFIED_EMAIL === 'true',
    emailChangeUrl: linkBase('EMAIL_CHANGE_URL', env.EMAIL_CHANGE_URL || `${issuer}/confirm-email-change`, fail),
    emailChangeUndoUrl: linkBase(
      'EMAIL_CHANGE_UNDO_URL',
      env.EMAIL_CHANGE_UNDO_URL || `${issuer}/undo-email-change`,
      fail,
    ),
    emailChangeUndoTtl: env.EMAIL_CHANGE_UNDO_TTL_SECONDS,
    securityNotices: env.SECURITY_NOTICES ? env.SECURITY_NOTICES === 'on' : true,
  };
}

function checkSmtpUrl(value: string, fail: (message: string) => never): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || !url.hostname) {
    fail('invalid configuration: SMTP_URL must look like smtp://host:587 or smtps://user:password@host:465');
  }
  if ((url.username === '') !== (url.password === '')) {
    fail('invalid configuration: SMTP_URL must carry both a user and a password, or neither');
  }
}

/** A front-end URL the token is appended to as ?token=… (or &token=… when it has a query already). */
function linkBase(name: string, value: string, fail: (message: string) => never): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.hash)
    fail(`invalid configuration: ${name} must be an http(s) URL without a #fragment`);
  return value;
}
