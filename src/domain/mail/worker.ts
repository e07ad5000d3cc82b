// Delivers the outbox (outbox.ts) in the background, on the shared outbox loop (src/domain/outbox-loop.ts):
// it leases a batch of due messages, sends them one by one, and marks each sent, or failed with an
// exponential backoff.
import type { Clock } from '../clock.js';
import { OutboxLoop } from '../outbox-loop.js';
import type { Outbox, ClaimedMail } from './outbox.js';
import { SMTP_TIMEOUT_MS, type MailTransport } from './transport.js';

export interface WorkerSettings {
  pollIntervalMs: number;
  maxAttempts: number;
  from: string;
  /** The domain of Message-IDs. */
  messageIdDomain: string;
}

export interface WorkerLog {
  sent(mail: ClaimedMail, file: string | undefined): void;
  failed(mail: ClaimedMail, error: string, gaveUp: boolean): void;
  error(err: unknown): void;
}

const BATCH = 20;
/** A lease outlives any SMTP exchange of a whole batch, so a live instance never loses one mid-send. */
const LEASE_MS = SMTP_TIMEOUT_MS * 3 * BATCH;

export class OutboxWorker {
  private readonly loop: OutboxLoop<ClaimedMail>;

  constructor(
    private readonly outbox: Outbox,
    private readonly transport: MailTransport,
    private readonly settings: WorkerSettings,
    private readonly clock: Clock,
    private readonly log: WorkerLog,
  ) {
    this.loop = new OutboxLoop(
      () => outbox.claim(clock.now(), LEASE_MS, BATCH),
      (mail) => this.deliver(mail),
      { pollIntervalMs: settings.pollIntervalMs, batch: BATCH },
      (err) => log.error(err),
    );
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.transport.close();
  }

  /** One poll: delivers what is due now. Returns how many were sent. Never runs twice at once. */
  runOnce(): Promise<number> {
    return this.loop.runOnce();
  }

  private async deliver(mail: ClaimedMail): Promise<boolean> {
    let file: string | undefined;
    try {
      ({ file } = await this.transport.send({
        ...mail,
        from: this.settings.from,
        messageId: `<outbox-${mail.id}@${this.settings.messageIdDomain}>`,
      }));
    } catch (err) {
      const error = describe(err);
      const gaveUp = await this.outbox.markFailed(mail, this.clock.now(), error, this.settings.maxAttempts);
      this.log.failed(mail, error, gaveUp);
      return false;
    }
    await this.outbox.markSent(mail, this.clock.now());
    this.log.sent(mail, file);
    return true;
  }
}

/** What an SMTP failure was, without the message or anything the server echoed of it. */
function describe(err: unknown): string {
  const e = err as { code?: unknown; responseCode?: unknown; command?: unknown };
  return [e.code, e.responseCode, e.command].filter((x) => x !== undefined).join(' ') || 'send failed';
}
