// Audit retention: every refresh and login adds an audit_events row, so without a limit the table grows for
// as long as the service runs. The purge job (src/plugins/purge-job.ts) deletes rows older than
// AUDIT_RETENTION_DAYS in bounded batches; admins export what they must keep first (GET /admin/audit/export).
// Several instances may purge at once: each batch locks its rows with SKIP LOCKED, so they share the work
// instead of waiting on each other.
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Clock } from './clock.js';
import { batches } from './batches.js';

export class AuditRetention {
  constructor(
    private readonly db: PrismaClient,
    private readonly clock: Clock,
    /** 0 keeps every row. */
    private readonly retentionDays: number,
  ) {}

  /** Deletes audit rows older than the retention; how many. */
  async purge(batchSize = 500, maxBatches = 100): Promise<number> {
    if (this.retentionDays === 0) return 0;
    const cutoff = new Date(this.clock.now().getTime() - this.retentionDays * 86_400_000);
    return batches(
      batchSize,
      maxBatches,
      () => this.db.$executeRaw`
      DELETE FROM audit_events WHERE id IN (
        SELECT id FROM audit_events WHERE created_at < ${cutoff} ORDER BY created_at LIMIT ${batchSize}
        FOR UPDATE SKIP LOCKED
      )`,
    );
  }
}
