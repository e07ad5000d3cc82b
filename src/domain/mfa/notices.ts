// What happens to second factors is told to the account's owner: a factor added, removed or reset by an admin,
// a recovery code used, second-factor sign-in locked. Each writes an audit row and (with the email flows on)
// a message through the outbox, in the transaction that makes it true. Never a code or a secret.
import type { Prisma } from '../../generated/prisma/client.js';
import { audit, type AuditType, type RequestMeta } from '../audit.js';
import { enqueueMail } from '../mail/outbox.js';
import type { MailKind, MailTemplates } from '../mail/templates.js';

type Tx = Pick<Prisma.TransactionClient, 'auditEvent' | '$executeRaw' | '$queryRaw'>;

export interface MfaNotice {
  audit: AuditType;
  /** The message to the owner, if any. */
  mail?: MailKind;
  userId: string;
  sessionId?: string | null;
  /** For the audit row: ids and kinds only. */
  reason?: string;
  /** Values for the message (the factor's kind, how many codes remain, …). */
  vars?: Record<string, string>;
}

export class MfaNotices {
  /** `templates`: null when the email flows are off (audit rows only). */
  constructor(private readonly templates: MailTemplates | null) {}

  async record(tx: Tx, notice: MfaNotice, meta: RequestMeta, now: Date): Promise<void> {
    await audit(tx, meta, now, {
      type: notice.audit,
      userId: notice.userId,
      sessionId: notice.sessionId ?? null,
      reason: notice.reason ?? null,
    });
    await this.mail(tx, notice, meta, now);
  }

  /** The message alone, for a change whose audit row another owner writes (an admin's reset: endSessions). */
  async mail(tx: Tx, notice: Pick<MfaNotice, 'mail' | 'userId' | 'vars'>, meta: RequestMeta, now: Date): Promise<void> {
    if (!this.templates || !notice.mail) return;
    const [user] = await tx.$queryRaw<{ email: string }[]>`SELECT email FROM users WHERE id = ${notice.userId}::uuid`;
    if (!user) return;
    const mail = this.templates.render(notice.mail, user.email, {
      time: now.toISOString(),
      ip: meta.ip,
      ...notice.vars,
    });
    await enqueueMail(tx, mail, now);
  }
}
