-- Every change to a client bumps its version (src/domain/oauth/clients.ts, client-documents.ts): the token
-- endpoint's statements compare the version of the client they authenticated from a short-lived per-instance
-- copy with this one, so a change made on any instance counts at once on all of them.
ALTER TABLE "oauth_clients" ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1;
