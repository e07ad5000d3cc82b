// What a client tells the app, and a minimal emitter for it (no dependency).

export interface ClientEvents {
  /** A session began or was restored: in this tab, or in another tab of the same app (`elsewhere`). */
  signed_in: { elsewhere: boolean };
  /** A new access token: refreshed by this tab, or handed over by the tab that refreshed (`elsewhere`). */
  token_refreshed: { expiresAt: number; elsewhere: boolean };
  /** The user signed out: here or in another tab (`elsewhere`); `everywhere` after signOutEverywhere(). */
  signed_out: { elsewhere: boolean; everywhere: boolean };
  /**
   * The server ended the session: `reason` is its error code, e.g. `refresh_token_reused` (the token was
   * replayed elsewhere: reuse detection), `session_revoked` (ended from another device, a password change,
   * an admin), `session_expired`, or `refresh_token_missing` (the cookie is gone).
   */
  session_ended: { reason: string };
}

export type ClientEvent = keyof ClientEvents;
type Listener<E extends ClientEvent> = (detail: ClientEvents[E]) => void;

export class Emitter {
  private readonly listeners = new Map<ClientEvent, Set<Listener<never>>>();

  on<E extends ClientEvent>(event: E, listener: Listener<E>): () => void {
    const set = this.listeners.get(event) ?? new Set();
    this.listeners.set(event, set);
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<E extends ClientEvent>(event: E, detail: ClientEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<E>)(detail);
      } catch (err) {
        // One app listener's bug must not stop the others, nor the refresh that emitted the event.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
