// Delivers the webhook outbox (deliveries.ts) in the background, on the shared outbox loop
// (src/domain/outbox-loop.ts): claim a batch, send each to its endpoint's current URL with its live secrets,
// record the outcome. A delivery whose endpoint was disabled is given up at once (an admin can re-send it once
// the endpoint is enabled again); one the address guard refuses is retried like a receiver that is down,
// since a DNS answer can change.
//
// One slow or dead receiver must not hold up the others: each endpoint is a lane of the loop (its deliveries
// one after another, at most PER_ENDPOINT per claim), up to WEBHOOK_CONCURRENCY lanes at once, and a lane that
// finishes lets the loop claim more for the other endpoints without waiting for the slow one. Every attempt
// is bounded by WEBHOOK_TIMEOUT_MS.
import type { Clock } from '../clock.js';
import { OutboxLoop } from '../outbox-loop.js';
import type { Backoff } from '../outbox-lease.js';
import type { ClaimedDelivery, WebhookDeliveries } from './deliveries.js';
import type { WebhookEndpoints } from './endpoints.js';
import { send, type Outcome, type SendRules } from './sender.js';

export interface DeliverySettings extends SendRules {
  pollIntervalMs: number;
  /** Endpoints delivered to at once. */
  concurrency: number;
  maxAttempts: number;
  backoff: Backoff;
}

export interface DeliveryLog {
  attempted(d: ClaimedDelivery, result: 'delivered' | 'retry' | 'given_up', outcome: Outcome, seconds: number): void;
  error(err: unknown): void;
}

const BATCH = 20;
/** The most deliveries of one endpoint in one batch. */
const PER_ENDPOINT = 5;

export class WebhookWorker {
  private readonly loop: OutboxLoop<ClaimedDelivery>;

  constructor(
    private readonly deliveries: WebhookDeliveries,
    private readonly endpoints: WebhookEndpoints,
    private readonly settings: DeliverySettings,
    private readonly clock: Clock,
    private readonly log: DeliveryLog,
  ) {
    // A lease outlives a whole batch sent one by one at the timeout, so a live instance never loses one mid-send.
    const leaseMs = settings.timeoutMs * 2 * BATCH;
    this.loop = new OutboxLoop(
      (busy) => deliveries.claim(clock.now(), leaseMs, BATCH, PER_ENDPOINT, busy),
      (d) => this.deliver(d),
      {
        pollIntervalMs: settings.pollIntervalMs,
        batch: BATCH,
        concurrency: settings.concurrency,
        laneOf: (d) => d.endpointId,
      },
      (err) => log.error(err),
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One poll: delivers what is due now. Returns how many were delivered. */
  runOnce(): Promise<number> {
    return this.loop.runOnce();
  }

  private async deliver(d: ClaimedDelivery): Promise<boolean> {
    const started = performance.now();
    const at = this.clock.now();
    let disabled = false;
    let outcome: Outcome;
    try {
      const target = await this.endpoints.target(d.endpointId, at);
      disabled = target === null;
      outcome = target
        ? await send(
            { url: target.url, eventId: d.eventId, payload: d.payload, secrets: target.secrets, at },
            this.settings,
          )
        : { ok: false, status: null, error: 'endpoint disabled', excerpt: null };
    } catch (err) {
      // Recorded as a failed attempt (retried with the backoff, given up after maxAttempts) rather than left
      // leased: one delivery that cannot be prepared (a secret that no longer opens) must not hold up the rest.
      this.log.error(err);
      outcome = { ok: false, status: null, error: 'not sent: the delivery could not be prepared', excerpt: null };
    }
    const result = await this.deliveries.record(d, outcome, this.clock.now(), {
      maxAttempts: this.settings.maxAttempts,
      backoff: this.settings.backoff,
      giveUp: disabled,
    });
    this.log.attempted(d, result, outcome, (performance.now() - started) / 1000);
    return result === 'delivered';
  }
}
