// How a message leaves: SMTP through nodemailer when SMTP_URL is set, otherwise (development) an .eml file
// in a folder, so `npm start` needs no mail server. Files are private (0600, folder 0700): they hold links
// with live tokens. SMTP waits are bounded so that a hung server delays the worker, never stalls it; the
// outbox lease (worker.ts) is longer than the longest of them.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Transporter } from 'nodemailer';
import type { OutgoingMail } from './outbox.js';

interface Envelope extends OutgoingMail {
  from: string;
  /** Stable per outbox row, so a redelivery after a crash carries the same Message-ID. */
  messageId: string;
}

export interface MailTransport {
  /** Sends or throws. `file` is where the development transport wrote the message. */
  send(mail: Envelope): Promise<{ file?: string }>;
  close(): void;
}

/** Longest an SMTP exchange may take; the worker's lease is well above it. */
export const SMTP_TIMEOUT_MS = 15_000;

type TransportOptions = Parameters<typeof import('nodemailer').createTransport>[0];

/**
 * A nodemailer transporter made on the first message: nodemailer (about 40 modules) is loaded then, not at boot,
 * and a process that sends no mail never loads it.
 */
function onFirstMessage(options: TransportOptions): { get(): Promise<Transporter>; close(): void } {
  let made: Transporter | undefined;
  return {
    async get() {
      if (!made) {
        const { default: nodemailer } = await import('nodemailer');
        made ??= nodemailer.createTransport(options);
      }
      return made;
    },
    close: () => made?.close(),
  };
}

export function smtpTransport(url: string): MailTransport {
  const transporter = onFirstMessage({
    url,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
    // One connection kept open between messages (the worker sends one at a time). A new connection per message
    // paid the server's greeting every time: mail servers hold it back (smtp-server 100 ms, Postfix's greet
    // pause seconds), which capped a burst at a few messages a second. A kept connection closes after
    // SMTP_TIMEOUT_MS idle, or when the server ends it; after 100 messages a new one is opened.
    pool: true,
    maxConnections: 1,
    maxMessages: 100,
    // A kept connection the server closed just as the next message started (nothing of the message sent yet) is
    // replaced and the message sent again over the new one, once: otherwise the race would cost the message a
    // failed attempt and the outbox's backoff. A connection lost once the message is under way fails the
    // message back to the outbox, which owns retries (worker.ts), whatever this says.
    maxRequeues: 1,
    // smtp:// servers that offer STARTTLS get it; smtps:// is TLS from the first byte.
  } as TransportOptions);
  return {
    async send(mail) {
      await (await transporter.get()).sendMail(toNodemailer(mail));
      return {};
    },
    close: () => transporter.close(),
  };
}

export function folderTransport(dir: string): MailTransport {
  const composer = onFirstMessage({ streamTransport: true, buffer: true, newline: 'unix' });
  let made = false;
  return {
    async send(mail) {
      if (!made) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        made = true;
      }
      const info = await (await composer.get()).sendMail(toNodemailer(mail));
      const file = path.join(
        dir,
        `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.kind}-${mail.messageId.replace(/[^\w.-]/g, '')}.eml`,
      );
      await writeFile(file, info.message as Buffer, { mode: 0o600 });
      return { file };
    },
    close: () => composer.close(),
  };
}

function toNodemailer(mail: Envelope) {
  return {
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
  };
}
