-- CreateTable
CREATE TABLE "oauth_document_fetch_counts" (
    "key" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "fetches" INTEGER NOT NULL,

    CONSTRAINT "oauth_document_fetch_counts_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "oauth_document_fetch_counts_window_start_idx" ON "oauth_document_fetch_counts"("window_start");
