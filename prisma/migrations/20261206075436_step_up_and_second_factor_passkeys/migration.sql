-- Step-up (RFC 9470): a session remembers when a second factor was last proven after its sign-in, and which
-- methods, so its tokens state acr "2" only within STEP_UP_MAX_AGE_SECONDS. A passkey challenge of a second
-- step is bound to the sign-in or session it completes.
-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "step_up_amr" TEXT[],
ADD COLUMN     "step_up_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "webauthn_challenges" ADD COLUMN     "binding" TEXT;
