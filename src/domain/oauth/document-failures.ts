// The negative cache of Client ID Metadata Documents: a URL whose fetch or document was refused is not
// fetched again for a short while (CLIENT_ID_METADATA_DOCUMENT_FAILURE_SECONDS), so a broken or hostile
// document costs Tessera one fetch per window, not one per request. Per process and bounded in size (the
// oldest entries go first): it saves work, while the limits that must hold across instances are counted in
// the database (document-fetch-limits.ts).
import { ExpiringMap } from '../expiring-map.js';

const MAX_ENTRIES = 10_000;

export class DocumentFailures {
  /** URL → why the remembered refusal happened (a log detail), until it ends. */
  private readonly failed = new ExpiringMap<string>(MAX_ENTRIES);

  constructor(private readonly seconds: number) {}

  /** Why this URL was refused recently, or null. */
  recent(url: string, now: number): string | null {
    return this.failed.get(url, now) ?? null;
  }

  remember(url: string, why: string, now: number): void {
    if (this.seconds === 0) return;
    this.failed.set(url, why, now + this.seconds * 1000);
  }
}
