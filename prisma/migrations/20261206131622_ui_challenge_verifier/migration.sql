-- The external UI's decision hands out a verifier that only the deciding UI passes on to its own browser: the
-- browser that opened a challenge (and so knows its id) cannot complete a decision made for someone else.
ALTER TABLE "oauth_ui_challenges" ADD COLUMN "verifier_hash" TEXT;
