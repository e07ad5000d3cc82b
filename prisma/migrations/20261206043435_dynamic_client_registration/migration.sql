-- Dynamic client registration (RFC 7591): which oauth_clients rows were registered by anyone at /oauth/register,
-- so the purge job can delete those that hold no live grant after DYNAMIC_REGISTRATION_TTL_DAYS.
-- CreateTable
CREATE TABLE "oauth_dynamic_registrations" (
    "client_id" TEXT NOT NULL,
    "registered_at" TIMESTAMPTZ(3) NOT NULL,
    "ip" TEXT,

    CONSTRAINT "oauth_dynamic_registrations_pkey" PRIMARY KEY ("client_id")
);

-- CreateIndex
CREATE INDEX "oauth_dynamic_registrations_registered_at_idx" ON "oauth_dynamic_registrations"("registered_at");
