-- CreateTable
CREATE TABLE "oauth_client_metadata_documents" (
    "client_id" TEXT NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "oauth_client_metadata_documents_pkey" PRIMARY KEY ("client_id")
);
