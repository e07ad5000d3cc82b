-- The audit retention purge deletes the oldest rows by created_at, in batches.
CREATE INDEX "audit_events_created_at_idx" ON "audit_events"("created_at");
