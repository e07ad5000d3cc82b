// Is every migration folder already applied? Almost every boot answers yes, and the answer is one SELECT on
// `_prisma_migrations` plus a hash of each migration.sql. Only when it is no (or unclear: no table yet, a
// failed or rolled-back row, an edited file, a row with no folder) does boot load Prisma's schema engine
// (src/db/migrate.ts), whose WASM instance costs about a second of CPU and tens of megabytes that stay
// resident for the life of the process. The engine stays the only code that changes the schema.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { migrationsDir } from './migrate.js';
import type { Sql } from './sql.js';

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/** Folder name → SHA-256 of its migration.sql, the checksum Prisma records when it applies one. */
async function localMigrations(dir: string): Promise<Map<string, string>> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const out = new Map<string, string>();
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const sql = await fs.readFile(path.join(dir, e.name, 'migration.sql'));
    out.set(e.name, createHash('sha256').update(sql).digest('hex'));
  }
  return out;
}

/**
 * True only when the database records exactly the local migrations, each finished, none failed, with the same
 * checksums. Any error (no table, no connection) is "not known to be current": the engine then runs and
 * reports it as it always did.
 */
export async function migrationsCurrent(sql: Sql, dir = migrationsDir): Promise<boolean> {
  try {
    const [local, rows] = await Promise.all([
      localMigrations(dir),
      sql.query<MigrationRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations',
        [],
      ),
    ]);
    const applied = new Map<string, string>();
    for (const row of rows) {
      if (row.rolled_back_at !== null) continue;
      if (row.finished_at === null) return false; // a failed migration: the engine says what to do
      applied.set(row.migration_name, row.checksum);
    }
    if (applied.size !== local.size) return false;
    for (const [name, checksum] of local) if (applied.get(name) !== checksum) return false;
    return true;
  } catch {
    return false;
  }
}
