-- The UTS #39 skeleton of each email (src/domain/emails.ts), unique so that two look-alike addresses
-- cannot both be accounts. The column starts empty (NULLs never collide, so this cannot fail on existing
-- data). SQL cannot compute skeletons, so the service fills them in at boot (src/domain/email-skeletons.ts),
-- leaving NULL where an older account already holds the same skeleton.
-- (No apostrophes in these comments: the PostgreSQL migration runner reads them as string quotes.)
-- AlterTable
ALTER TABLE "users" ADD COLUMN     "email_skeleton" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "users_email_skeleton_key" ON "users"("email_skeleton");
