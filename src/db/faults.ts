// What readiness knows about database faults it cannot see with a read: a full disk still answers
// `SELECT 1`, so the error handler records disk-full errors here and readiness reports not-ready
// until a write succeeds again or none has been seen for a while; no restart is needed.
import type { DatabaseFault } from './unavailable.js';

export class DatabaseFaults {
  private diskFullAt = 0;

  constructor(
    private readonly now: () => number = Date.now,
    /** How long after the last disk-full error readiness stays false. */
    private readonly holdMs = 30_000,
  ) {}

  record(fault: DatabaseFault): void {
    if (fault === 'disk_full') this.diskFullAt = this.now();
  }

  /** A write went through: the disk has room again. */
  writeSucceeded(): void {
    this.diskFullAt = 0;
  }

  /** 'disk_full' while a disk-full error is recent, else undefined. */
  current(): DatabaseFault | undefined {
    return this.diskFullAt && this.now() - this.diskFullAt < this.holdMs ? 'disk_full' : undefined;
  }
}
