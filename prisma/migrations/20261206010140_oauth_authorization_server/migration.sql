-- Tessera as an OAuth 2.1 / OpenID Connect authorization server (src/domain/oauth/).
-- oauth_clients: registered applications. oauth_codes: authorization codes, by SHA-256, spent once.
-- oauth_consents: remembered consent per user and client. A grant to a client is a session row with client_id set.
-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "audience" TEXT,
ADD COLUMN     "client_id" TEXT,
ADD COLUMN     "scope" TEXT;

-- CreateTable
CREATE TABLE "oauth_clients" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "auth_method" TEXT NOT NULL,
    "secret_hash" TEXT,
    "jwks" JSONB,
    "redirect_uris" TEXT[],
    "post_logout_redirect_uris" TEXT[],
    "grant_types" TEXT[],
    "scopes" TEXT[],
    "resources" TEXT[],
    "first_party" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "disabled_at" TIMESTAMPTZ(3),

    CONSTRAINT "oauth_clients_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "oauth_codes" (
    "code_hash" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "browser_session_id" UUID NOT NULL,
    "redirect_uri" TEXT NOT NULL,
    "code_challenge" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "audience" TEXT NOT NULL,
    "nonce" TEXT,
    "auth_time" TIMESTAMPTZ(3) NOT NULL,
    "idp" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "grant_session_id" UUID,

    CONSTRAINT "oauth_codes_pkey" PRIMARY KEY ("code_hash")
);

-- CreateTable
CREATE TABLE "oauth_consents" (
    "user_id" UUID NOT NULL,
    "client_id" TEXT NOT NULL,
    "scopes" TEXT[],
    "granted_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "oauth_consents_pkey" PRIMARY KEY ("user_id","client_id")
);

-- CreateIndex
CREATE INDEX "oauth_codes_expires_at_idx" ON "oauth_codes"("expires_at");

-- CreateIndex
CREATE INDEX "oauth_consents_client_id_idx" ON "oauth_consents"("client_id");

-- CreateIndex
CREATE INDEX "sessions_client_id_revoked_at_idx" ON "sessions"("client_id", "revoked_at");
