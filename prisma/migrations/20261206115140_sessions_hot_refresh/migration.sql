-- A refresh updates its session row in place (a heap-only tuple, HOT) instead of writing a new entry into every
-- index of sessions. PostgreSQL can do so only when the UPDATE changes no indexed column and the page of the row has
-- room for the new version. The refresh statement sets expires_at, so the index on it went: the purge job, its
-- only reader, now finds expired sessions by a scan (bounded by LIMIT, once per PURGE_INTERVAL_SECONDS), where
-- every refresh paid five index insertions. A fill factor of 80 leaves each page a fifth free for the new
-- versions. It applies to pages written from now on (VACUUM FULL or pg_repack rewrites the older ones).

-- DropIndex
DROP INDEX "sessions_expires_at_idx";

-- AlterTable
ALTER TABLE "sessions" SET (fillfactor = 80);
