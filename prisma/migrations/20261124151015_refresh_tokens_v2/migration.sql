-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "refresh_counter" BIGINT,
ADD COLUMN     "rotated_at" TIMESTAMPTZ(3);
