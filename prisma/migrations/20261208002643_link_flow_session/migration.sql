-- A provider link completes only while the session that asked for it is live (src/domain/federation/
-- identities.ts): the flow names that session. Links in progress when this is applied have none and are refused
-- at their callback (they last ten minutes, and the user starts again). The index serves endSessions, which deletes
-- a user's link flows when all their sessions end (src/domain/sessions/session-end.ts).
-- AlterTable
ALTER TABLE "oauth_flows" ADD COLUMN     "link_session_id" UUID;

-- CreateIndex
CREATE INDEX "oauth_flows_link_user_id_idx" ON "oauth_flows"("link_user_id");
