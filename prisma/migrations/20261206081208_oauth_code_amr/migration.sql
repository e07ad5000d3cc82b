-- AlterTable
ALTER TABLE "oauth_codes" ADD COLUMN     "amr" TEXT[];
