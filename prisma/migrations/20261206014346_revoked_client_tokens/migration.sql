-- client_credentials tokens revoked through /oauth/revoke before they expire: introspection and /admin refuse a
-- token whose jti is here. A row lives until the token's own exp (then the signature check refuses it anyway).
CREATE TABLE "revoked_client_tokens" (
    "jti" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "revoked_client_tokens_pkey" PRIMARY KEY ("jti")
);

CREATE INDEX "revoked_client_tokens_expires_at_idx" ON "revoked_client_tokens"("expires_at");
