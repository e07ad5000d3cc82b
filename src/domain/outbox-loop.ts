// The background loop every outbox worker (mail, webhooks) runs: every poll interval it claims a batch of due
// rows and delivers them; a full batch polls again at once. Stopping waits for the rows in flight, so a
// shutdown never leaves a row delivered but not marked (which another instance would deliver again after
// the lease).
//
// With lanes (the webhooks' endpoints), rows of one lane go one after another and up to `concurrency` lanes
// run at once, without waiting for each other: whenever a lane finishes, the loop claims again, leaving out
// the lanes still busy. So a receiver that never answers holds up its own lane only (each attempt bounded by
// the sender's timeout), never the others. The mail outbox has no lanes: its batch goes in order.
export interface LoopSettings<T> {
  pollIntervalMs: number;
  batch: number;
  /** Lanes delivered at once (with `laneOf`). */
  concurrency?: number;
  /** Which lane an item belongs to; items of one lane go one after another. */
  laneOf?: (item: T) => string;
}

export class OutboxLoop<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    /** Claims due rows, leaving out the lanes named (busy in this instance). */
    private readonly claim: (busyLanes: string[]) => Promise<T[]>,
    /** Delivers one claimed row and marks it; true when it was delivered. */
    private readonly deliver: (item: T) => Promise<boolean>,
    private readonly settings: LoopSettings<T>,
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
    const counter = { delivered: 0 };
    const run = this.settings.laneOf ? this.drainLanes(this.settings.laneOf, counter) : this.drainInOrder(counter);
    this.running = run.finally(() => {
      this.running = undefined;
    });
    return this.running.then(() => counter.delivered);
  }

  private async drainInOrder(counter: { delivered: number }): Promise<void> {
    let batch: T[];
    do {
      batch = await this.claim([]);
      for (const item of batch) if (await this.deliver(item)) counter.delivered++;
    } while (batch.length === this.settings.batch && !this.stopped);
  }

  private async drainLanes(laneOf: (item: T) => string, counter: { delivered: number }): Promise<void> {
    const width = Math.max(1, this.settings.concurrency ?? 1);
    const busy = new Map<string, Promise<void>>();
    /** Lanes claimed but not started yet (more lanes came than free places). */
    const waiting = new Map<string, T[]>();
    const startLane = (lane: string, items: T[]) => {
      const work = (async () => {
        for (const item of items) if (await this.deliver(item)) counter.delivered++;
      })().finally(() => busy.delete(lane));
      busy.set(lane, work);
    };
    try {
      for (;;) {
        for (const [lane, items] of waiting) {
          if (busy.size >= width) break;
          waiting.delete(lane);
          startLane(lane, items);
        }
        if (busy.size < width && waiting.size === 0 && !this.stopped) {
          const batch = await this.claim([...busy.keys()]);
          for (const item of batch) {
            const lane = laneOf(item);
            const items = waiting.get(lane);
            if (items) items.push(item);
            else waiting.set(lane, [item]);
          }
          if (batch.length > 0) continue;
        }
        if (busy.size === 0 && waiting.size === 0) break;
        if (busy.size > 0) await Promise.race(busy.values());
      }
    } finally {
      // A failed claim or mark still lets the lanes in flight finish before the next poll may start.
      await Promise.allSettled([...busy.values()]);
    }
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
