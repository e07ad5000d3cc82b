-- The external login and consent UI's challenges, and one code per authorization request (its client and PKCE
-- challenge): a request approved twice mints no second code.
-- CreateTable
CREATE TABLE "oauth_ui_challenges" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "params" JSONB NOT NULL,
    "pushed" BOOLEAN NOT NULL,
    "browser_key" TEXT NOT NULL,
    "user_id" UUID,
    "session_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "decided_at" TIMESTAMPTZ(3),
    "accepted" BOOLEAN,
    "subject" UUID,
    "amr" TEXT[],
    "remember" BOOLEAN NOT NULL DEFAULT false,
    "decided_by" TEXT,
    "error" TEXT,
    "error_description" TEXT,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "oauth_ui_challenges_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "oauth_ui_challenges_expires_at_idx" ON "oauth_ui_challenges"("expires_at");

-- Codes live 60 s, and an older duplicate (an approval repeated before this rule) is dropped so the index can be built.
DELETE FROM "oauth_codes" a USING "oauth_codes" b
WHERE a."client_id" = b."client_id" AND a."code_challenge" = b."code_challenge" AND a."code_hash" <> b."code_hash"
  AND (a."created_at", a."code_hash") < (b."created_at", b."code_hash");

-- CreateIndex
CREATE UNIQUE INDEX "oauth_codes_client_id_code_challenge_key" ON "oauth_codes"("client_id", "code_challenge");
