// CI's PostgreSQL pass leaves out the test files whose header says "ci: embedded database only." (.ci/run): such a
// file must then really not reach the database TEST_DATABASE_URL names. The helpers that do are buildTestApp
// without a database of its own and createTestDatabase without `embedded: true` (test/helper.ts); a marked file
// that calls either would silently lose its PostgreSQL run.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';

const MARK = /^\/\/ ci: embedded database only\./m;
const tiers = ['integration', 'system'];

const marked = tiers.flatMap((tier) =>
  readdirSync(new URL(`../${tier}/`, import.meta.url))
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => ({
      file: `test/${tier}/${name}`,
      text: readFileSync(new URL(`../${tier}/${name}`, import.meta.url), 'utf8'),
    }))
    .filter(({ text }) => MARK.test(text)),
);

t.test('the files CI runs on the embedded database only never reach TEST_DATABASE_URL', async (t) => {
  t.ok(marked.length > 0, 'some files are marked (the pattern still matches what .ci/run greps for)');
  const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
  t.match(ci, "'^// ci: embedded database only\\.'", '.ci/run selects the files by the same header line');
  for (const { file, text } of marked) {
    const reaching = [
      ...text.matchAll(/buildTestApp\(\s*t\s*(?:,\s*\{(?![^}]*\bdb\b)[^}]*\})?\s*\)/g),
      ...text.matchAll(/createTestDatabase\((?![^)]*embedded: true)[^)]*\)/g),
    ].map((m) => m[0]);
    t.same(reaching, [], `${file} builds no app and opens no database on TEST_DATABASE_URL`);
  }
});
