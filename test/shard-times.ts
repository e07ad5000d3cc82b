// Seconds each fast-tier file took, run with `npx tap <file>` two files at a time on a busy 2-core machine (load
// average 20–35): what test/shard.ts balances the two shards of `npm test` by. Only the proportions matter, so
// the numbers are from one sitting; a file missing here is weighed by its size. Re-measure a file after a
// large change to it (`npx tap test/integration/x.test.ts` prints `# time=`) and update its line.
export const MEASURED_SECONDS: Record<string, number> = {
  'integration/access-tokens.test.ts': 161,
  'integration/attack-corpus.test.ts': 213,
  'integration/authz-admin.test.ts': 176,
  'integration/authz-client-credentials.test.ts': 81,
  'integration/authz-roles.test.ts': 91,
  'integration/authz-verifier.test.ts': 148,
  'integration/browser-security.test.ts': 247,
  'integration/compose.test.ts': 4,
  'integration/edge-errors.test.ts': 118,
  'integration/env-example.test.ts': 3,
  // Its fresh PGlite (an initdb) became a copy of the template, its client-abort test moved to test/system.
  'integration/error-classification.test.ts': 12,
  'integration/faults.test.ts': 80,
  'integration/federation-config.test.ts': 11,
  'integration/federation-github.test.ts': 82,
  'integration/federation-identities.test.ts': 128,
  'integration/federation-oidc.test.ts': 89,
  'integration/mail-change-email.test.ts': 69,
  'integration/mail-config.test.ts': 80,
  'integration/mail-outbox.test.ts': 124,
  'integration/mail-password-reset.test.ts': 61,
  'integration/mail-reuse-notice.test.ts': 48,
  'integration/mail-verify-email.test.ts': 84,
  'integration/metrics.test.ts': 125,
  // Measured with four files at a time (213 s), halved for the two-at-a-time scale of the others.
  'integration/migrations-current.test.ts': 105,
  'integration/oauth.test.ts': 82,
  'integration/refresh-legacy.test.ts': 87,
  'integration/refresh-rotation.test.ts': 112,
  'integration/refresh-v2.test.ts': 140,
  'integration/register-login.test.ts': 90,
  'integration/sessions.test.ts': 130,
  'unit/docs-paths.test.ts': 6,
  'unit/edge-rules.test.ts': 9,
  'unit/import-cycles.test.ts': 2,
  'unit/keys.test.ts': 2,
  'unit/refresh-tokens.test.ts': 1,
};
