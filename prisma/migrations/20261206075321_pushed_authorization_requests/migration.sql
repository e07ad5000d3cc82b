-- Pushed authorization requests (RFC 9126): the per-client requirement, and the pushed requests themselves,
-- each claimed once at /oauth/authorize.
-- AlterTable
ALTER TABLE "oauth_clients" ADD COLUMN "require_pushed_authorization_requests" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "oauth_pushed_requests" (
    "id" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "params" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "browser_key" TEXT,

    CONSTRAINT "oauth_pushed_requests_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "oauth_pushed_requests_expires_at_idx" ON "oauth_pushed_requests"("expires_at");
