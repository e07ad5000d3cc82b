// A real SMTP server on loopback for the email tests (smtp-server), with a user and password, parsing what it
// receives with mailparser. It can be stopped and started again on the same port, as an outage would.
import type { Test } from 'tap';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from './free-port.js';

export const SMTP_USER = 'tessera';
export const SMTP_PASSWORD = 'smtp secret';

export interface Received {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  parsed: ParsedMail;
}

export interface TestSmtp {
  url: string;
  received: Received[];
  /** SMTP sessions opened so far (connections accepted). */
  sessions(): number;
  /**
   * Ends the session in use at the next message's MAIL FROM with 421, as a server closing a kept connection just as a
   * message starts would, and keeps listening.
   */
  closeAtNextMessage(): void;
  /** Resolves once at least `count` messages arrived (fails the wait after `ms`). */
  waitFor(count: number, ms?: number): Promise<Received[]>;
  /** Messages received for one address. */
  to(address: string): Received[];
  down(): Promise<void>;
  up(): Promise<void>;
}

export async function startSmtp(t: Test): Promise<TestSmtp> {
  const port = await freePort();
  const received: Received[] = [];
  let server: SMTPServer | undefined;
  let sessions = 0;
  let closeAtNextMessage = false;
  const listen = async () => {
    server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      // An outage is at once: down() ends open sessions (421) instead of waiting 30 s for clients to leave,
      // which a client that keeps its connection between messages (src/domain/mail/transport.ts) never does.
      closeTimeout: 1,
      onConnect(_session, cb) {
        sessions++;
        cb();
      },
      onMailFrom(_address, _session, cb) {
        if (!closeAtNextMessage) return cb();
        closeAtNextMessage = false;
        cb(Object.assign(new Error('closing the connection'), { responseCode: 421 }));
      },
      onAuth(auth, _session, cb) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
        else cb(new Error('bad credentials'));
      },
      onData(stream, session, cb) {
        simpleParser(stream)
          .then((parsed) => {
            received.push({
              to: session.envelope.rcptTo.map((r) => r.address).join(','),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              messageId: parsed.messageId ?? '',
              parsed,
            });
            cb();
          })
          .catch(cb);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
  };
  const down = async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  t.teardown(down);
  return {
    url: `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:${port}`,
    received,
    sessions: () => sessions,
    closeAtNextMessage: () => {
      closeAtNextMessage = true;
    },
    to: (address) => received.filter((r) => r.to === address),
    async waitFor(count, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} messages, got ${received.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return received;
    },
    down,
    up: listen,
  };
}

/** The token in the first link of a message's text. */
export function tokenFrom(mail: Received): string {
  const link = /https?:\/\/\S+/.exec(mail.text)?.[0];
  if (!link) throw new Error('no link in the message');
  const token = new URL(link).searchParams.get('token');
  if (!token) throw new Error('no token in the link');
  return token;
}

/** The environment that turns the email flows on against this server, polling fast. */
export function mailEnv(smtp: TestSmtp, extra: Record<string, string> = {}): Record<string, string> {
  return {
    EMAIL_FLOWS: 'on',
    SMTP_URL: smtp.url,
    MAIL_POLL_INTERVAL_MS: '50',
    PASSWORD_RESET_URL: 'https://app.example.com/reset',
    EMAIL_VERIFY_URL: 'https://app.example.com/verify',
    ...extra,
  };
}
