-- The device authorization grant (RFC 8628): one row per device_authorization request. Only the SHA-256 of the
-- device code and of the user code are kept. The row is decided once (approved or denied, with who approved it
-- and from which browser session), polled at its own interval (raised by slow_down), and redeemed once (used_at).
CREATE TABLE "oauth_device_codes" (
    "id" UUID NOT NULL,
    "device_code_hash" TEXT NOT NULL,
    "user_code_hash" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "audience" TEXT NOT NULL,
    "ip" TEXT,
    "user_agent" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "interval_seconds" INTEGER NOT NULL,
    "last_polled_at" TIMESTAMPTZ(3),
    "status" TEXT NOT NULL DEFAULT 'pending',
    "user_id" UUID,
    "browser_session_id" UUID,
    "decided_at" TIMESTAMPTZ(3),
    "used_at" TIMESTAMPTZ(3),
    "grant_session_id" UUID,

    CONSTRAINT "oauth_device_codes_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "oauth_device_codes_device_code_hash_key" ON "oauth_device_codes"("device_code_hash");
CREATE UNIQUE INDEX "oauth_device_codes_user_code_hash_key" ON "oauth_device_codes"("user_code_hash");
CREATE INDEX "oauth_device_codes_expires_at_idx" ON "oauth_device_codes"("expires_at");

-- Attempts at entering a user code, counted per browser session and per address in fixed windows.
CREATE TABLE "oauth_device_guesses" (
    "key" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "attempts" INTEGER NOT NULL,

    CONSTRAINT "oauth_device_guesses_pkey" PRIMARY KEY ("key")
);

CREATE INDEX "oauth_device_guesses_window_start_idx" ON "oauth_device_guesses"("window_start");
