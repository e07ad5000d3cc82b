// The background loop every outbox worker (mail, webhooks) runs: every poll interval it claims a batch of due
// rows and delivers them; a full batch polls again at once. Stopping waits for the batch in flight, so a
// shutdown never leaves a row delivered but not marked (which another instance would deliver again after
// the lease).
export interface LoopSettings {
  pollIntervalMs: number;
  batch: number;
}

export class OutboxLoop<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly claim: () => Promise<T[]>,
    /** Delivers one claimed row and marks it; true when it was delivered. */
    private readonly deliver: (item: T) => Promise<boolean>,
    private readonly settings: LoopSettings,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.settings.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One poll: delivers what is due now. Returns how many were delivered. Never runs twice at once. */
  runOnce(): Promise<number> {
    if (this.running !== undefined) return this.running.then(() => 0);
    let delivered = 0;
    const run = (async () => {
      let batch: T[];
      do {
        batch = await this.claim();
        for (const item of batch) if (await this.deliver(item)) delivered++;
      } while (batch.length === this.settings.batch && !this.stopped);
    })();
    this.running = run.finally(() => {
      this.running = undefined;
    });
    return this.running.then(() => delivered);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((err: unknown) => this.onError(err))
        .finally(() => this.schedule(this.settings.pollIntervalMs));
    }, ms);
    this.timer.unref();
  }
}
