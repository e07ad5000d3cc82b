// Delivers the outbox (outbox.ts) in the background: every poll interval it leases a batch of due messages,
// sends them one by one, and marks each sent, or failed with an exponential backoff. A poll that finds a
// full batch polls again at once. Stopping waits for the batch in flight, so a shutdown never leaves a
// message sent but not marked (which another instance would send again after the lease).
import type { Clock } from '../clock.js';
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
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly outbox: Outbox,
    private readonly transport: MailTransport,
    private readonly settings: WorkerSettings,
    private readonly clock: Clock,
    private readonly log: WorkerLog,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.settings.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.transport.close();
  }

  /** One poll: delivers what is due now. Returns how many were sent. Never runs twice at once. */
  runOnce(): Promise<number> {
    if (this.running !== undefined) return this.running.then(() => 0);
    let sent = 0;
    const run = (async () => {
      let batch: ClaimedMail[];
      do {
        batch = await this.outbox.claim(this.clock.now(), LEASE_MS, BATCH);
        for (const mail of batch) if (await this.deliver(mail)) sent++;
      } while (batch.length === BATCH && !this.stopped);
    })();
    this.running = run.finally(() => {
      this.running = undefined;
    });
    return this.running.then(() => sent);
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

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((err: unknown) => this.log.error(err))
        .finally(() => this.schedule(this.settings.pollIntervalMs));
    }, ms);
    this.timer.unref();
  }
}

/** What an SMTP failure was, without the message or anything the server echoed of it. */
function describe(err: unknown): string {
  const e = err as { code?: unknown; responseCode?: unknown; command?: unknown };
  return [e.code, e.responseCode, e.command].filter((x) => x !== undefined).join(' ') || 'send failed';
}
