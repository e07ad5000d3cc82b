// A per-process map whose entries lapse at a time given when each is set, bounded in size (the oldest set goes
// first). For what saves work on one instance and is safe to forget: the token endpoint's copy of OAuth clients
// (authz/client-cache.ts) and the remembered refusals of metadata documents (oauth/document-failures.ts).
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(private readonly max: number) {}

  /** The value kept for `key`, unless it lapsed by `now` (ms; a lapsed entry is dropped). */
  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Keeps `value` until `until` (ms); re-set entries count as the newest. */
  set(key: string, value: V, until: number): void {
    this.entries.delete(key); // re-inserted last: a Map keeps insertion order, the oldest go first
    this.entries.set(key, { value, until });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
