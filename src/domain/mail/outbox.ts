// The transactional outbox. A message is a row written in the same database transaction as whatever makes
// it true (the token it carries, the password change it reports): a rolled-back transaction leaves no row,
// so sends nothing; a committed one leaves a row the worker (worker.ts) delivers, however long SMTP is away.
//
// Claiming and the backoff are the shared outbox lease (src/domain/outbox-lease.ts); an instance that dies
// mid-send loses its lease and another delivers the row again, with the same Message-ID, so mail systems can
// fold the duplicate.
import type { Prisma } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { backoffMs, claimDue } from '../outbox-lease.js';

export interface OutgoingMail {
  /** The template it was made from (for logs and tests; never the content). */
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface ClaimedMail extends OutgoingMail {
  id: string;
  attempts: number;
  lease: Date;
}

/** Anything that can run a raw statement: a transaction (the usual case) or the client. */
export type OutboxWriter = Pick<Prisma.TransactionClient, '$executeRaw'>;

/** Writes a message to the outbox, in the caller's transaction. */
export async function enqueueMail(tx: OutboxWriter, mail: OutgoingMail, now: Date): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO mail_outbox (kind, recipient, subject, text_body, html_body, created_at, next_attempt_at)
    VALUES (${mail.kind}, ${mail.to}, ${mail.subject}, ${mail.text}, ${mail.html}, ${now}, ${now})`;
}

interface ClaimRow {
  id: string;
  kind: string;
  recipient: string;
  subject: string;
  text_body: string | null;
  html_body: string | null;
}

/** Retry n (1-based) waits 5 s · 2^(n−1), at most 1 h: 5 s, 10 s, 20 s … 1 h. */
const BACKOFF = { baseMs: 5000, maxMs: 3_600_000 } as const;

export class Outbox {
  constructor(private readonly sql: Sql) {}

  /**
   * Deletes messages sent or given up before `before`, and email tokens expired before it (with the purge job's
   * PURGE_AFTER_DAYS). Returns how many rows of each went.
   */
  async purge(before: Date): Promise<{ messages: number; tokens: number }> {
    const at = before.toISOString();
    const messages = await this.sql.query(
      'DELETE FROM mail_outbox WHERE COALESCE(sent_at, failed_at) < $1::timestamptz RETURNING id',
      [at],
    );
    const tokens = await this.sql.query(
      'DELETE FROM email_tokens WHERE expires_at < $1::timestamptz RETURNING token_hash',
      [at],
    );
    return { messages: messages.length, tokens: tokens.length };
  }

  /** Leases up to `limit` due messages until `now + leaseMs`. */
  async claim(now: Date, leaseMs: number, limit: number): Promise<ClaimedMail[]> {
    const rows = await claimDue<ClaimRow>(
      this.sql,
      'mail_outbox',
      'm.kind, m.recipient, m.subject, m.text_body, m.html_body',
      now,
      leaseMs,
      limit,
    );
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      to: r.recipient,
      subject: r.subject,
      text: r.text_body ?? '',
      html: r.html_body ?? '',
      attempts: r.attempts,
      lease: r.locked_until,
    }));
  }

  /** Delivered: the bodies (which may hold a link with a token) are blanked. False if the lease was lost. */
  async markSent(mail: ClaimedMail, now: Date): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE mail_outbox SET sent_at = $2::timestamptz, locked_until = NULL, text_body = NULL, html_body = NULL, last_error = NULL
       WHERE id = $1::bigint AND locked_until = $3::timestamptz RETURNING id`,
      [mail.id, now.toISOString(), mail.lease.toISOString()],
    );
    return rows.length === 1;
  }

  /**
   * Not delivered: retried after the backoff, or given up (failed_at) after `maxAttempts`. `error` is a short
   * description of the SMTP failure, never the message. Returns whether it was given up.
   */
  async markFailed(mail: ClaimedMail, now: Date, error: string, maxAttempts: number): Promise<boolean> {
    const giveUp = mail.attempts >= maxAttempts;
    const next = new Date(now.getTime() + backoffMs(mail.attempts, BACKOFF));
    await this.sql.query(
      `UPDATE mail_outbox SET locked_until = NULL, last_error = $2, next_attempt_at = $3::timestamptz,
         failed_at = CASE WHEN $4::boolean THEN $5::timestamptz END,
         text_body = CASE WHEN $4::boolean THEN NULL ELSE text_body END,
         html_body = CASE WHEN $4::boolean THEN NULL ELSE html_body END
       WHERE id = $1::bigint AND locked_until = $6::timestamptz`,
      [mail.id, error.slice(0, 500), next.toISOString(), giveUp, now.toISOString(), mail.lease.toISOString()],
    );
    return giveUp;
  }
}
