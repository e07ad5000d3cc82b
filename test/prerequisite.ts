// Tests that need something from the machine (a PostgreSQL to stop and restart, a tmpfs to fill) skip with the
// reason on a developer's machine that lacks it, but under CI=true a missing prerequisite is a failure: a proof
// that silently stops running is no proof.
import type { Test } from 'tap';

const ci = process.env.CI === 'true';

/** Options for t.test: skip with `missing` as the reason, except under CI=true. */
export function skipUnlessCi(missing: string | undefined): { skip: string | false } {
  return { skip: missing !== undefined && !ci ? missing : false };
}

/** Fails `t` when something the test needs is missing (only reached under CI=true); true when it did. */
export function failIfMissing(t: Test, missing: string | undefined): boolean {
  if (missing === undefined) return false;
  t.fail(`a prerequisite is missing (under CI=true this fails instead of skipping): ${missing}`);
  return true;
}
