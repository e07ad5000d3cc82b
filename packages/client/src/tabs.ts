// The tabs of one app share one session (one refresh cookie), so they share its renewal: one tab refreshes
// while the others wait, then hands them the new access token.
//
// Web Locks (navigator.locks) make the refresh exclusive across the tabs of this origin; BroadcastChannel
// carries the result (a new token, a sign-in, a sign-out, a session the server ended). A tab that waited for
// the lock first looks at what the lock holder posted, and refreshes only if nothing came: the lock's
// release and the channel's message travel separately, so it waits a moment for the message (`next`).
//
// Without Web Locks each tab refreshes on its own (the server's reuse grace window keeps that safe, at the
// cost of a request per tab); without BroadcastChannel tabs hand nothing over, and a tab learns of a
// sign-out elsewhere at its next refresh (a 401: session_ended).

export type TabMessage =
  | { type: 'token'; token: string; expiresAt: number; signedIn: boolean }
  | { type: 'ended'; reason: string }
  | { type: 'signed_out'; everywhere: boolean }
  | { type: 'ask' };

export interface TabSync {
  /** Runs `fn` alone among this app's tabs; `contended`: another tab held the lock when this one asked. */
  exclusive<T>(fn: (contended: boolean) => Promise<T>): Promise<T>;
  post(message: TabMessage): void;
  /** Resolves at the next message from another tab (other than `ask`), or after `ms`. */
  next(ms: number): Promise<void>;
  close(): void;
}

/** What the environment offers; `null` turns a feature off (tests, or a browser without it). */
export interface TabApis {
  locks?: LockManager | null;
  BroadcastChannel?: typeof BroadcastChannel | null;
}

const BUSY = Symbol('busy');

export function tabSync(name: string, onMessage: (message: TabMessage) => void, apis: TabApis = {}): TabSync {
  const locks = apis.locks !== undefined ? apis.locks : globalThis.navigator?.locks;
  const Channel = apis.BroadcastChannel !== undefined ? apis.BroadcastChannel : globalThis.BroadcastChannel;
  const channel = Channel ? new Channel(name) : null;
  let waiters: (() => void)[] = [];

  if (channel) {
    channel.onmessage = (event: MessageEvent<TabMessage>) => {
      onMessage(event.data);
      if (event.data.type === 'ask') return;
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    };
  }

  return {
    async exclusive(fn) {
      if (!locks) return fn(false);
      const first = await locks.request(name, { ifAvailable: true }, (lock) => (lock ? fn(false) : BUSY));
      if (first !== BUSY) return first as Awaited<ReturnType<typeof fn>>;
      return locks.request(name, () => fn(true));
    },
    post(message) {
      channel?.postMessage(message);
    },
    next(ms) {
      if (!channel) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    close() {
      channel?.close();
    },
  };
}
