-- API keys (src/domain/api-keys/): a keyed hash of each key, its owner (a user or a service client), scopes and expiry.
-- CreateTable
CREATE TABLE "api_keys" (
    "id" TEXT NOT NULL,
    "user_id" UUID,
    "client_id" TEXT,
    "name" TEXT NOT NULL,
    "scopes" TEXT[],
    "mac" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "rolled_from" TEXT,
    "rolled_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "api_keys_user_id_idx" ON "api_keys"("user_id");

-- CreateIndex
CREATE INDEX "api_keys_client_id_idx" ON "api_keys"("client_id");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Exactly one owner.
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_one_owner" CHECK (("user_id" IS NULL) <> ("client_id" IS NULL));
