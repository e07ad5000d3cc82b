// The negative cache of Client ID Metadata Documents: a URL whose fetch or document was refused is not
// fetched again for a short while (CLIENT_ID_METADATA_DOCUMENT_FAILURE_SECONDS), so a broken or hostile
// document costs Tessera one fetch per window, not one per request. Per process and bounded in size (the
// oldest entries go first): it saves work, while the limits that must hold across instances are counted in
// the database (document-fetch-limits.ts).
const MAX_ENTRIES = 10_000;

export class DocumentFailures {
  /** URL → when the remembered refusal ends (ms) and why it happened (a log detail). */
  private readonly failed = new Map<string, { until: number; why: string }>();

  constructor(private readonly seconds: number) {}

  /** Why this URL was refused recently, or null. */
  recent(url: string, now: number): string | null {
    const entry = this.failed.get(url);
    if (!entry) return null;
    if (entry.until > now) return entry.why;
    this.failed.delete(url);
    return null;
  }

  remember(url: string, why: string, now: number): void {
    if (this.seconds === 0) return;
    this.failed.delete(url); // re-inserted last: a Map keeps insertion order, the oldest go first
    this.failed.set(url, { until: now + this.seconds * 1000, why });
    for (const key of this.failed.keys()) {
      if (this.failed.size <= MAX_ENTRIES) break;
      this.failed.delete(key);
    }
  }
}
