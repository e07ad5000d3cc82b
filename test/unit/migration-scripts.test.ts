// Prisma's migration runner on PostgreSQL splits a migration script on every semicolon, even one inside a
// `--` comment, and then sends half a sentence as SQL: the migration fails on PostgreSQL while PGlite, which
// runs the script whole, applies it. This guard reads every migration so such a comment fails here, in the
// unit tier, instead of in the PostgreSQL run of the suite.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const root = join(import.meta.dirname, '../../prisma/migrations');
const scripts = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => join(entry.name, 'migration.sql'));

t.ok(scripts.length > 10, `the migrations are found (${scripts.length})`);

for (const script of scripts) {
  const lines = readFileSync(join(root, script), 'utf8').split('\n');
  const offending = lines
    .map((line, index) => ({ line, number: index + 1 }))
    .filter(({ line }) => {
      const comment = line.indexOf('--');
      return comment >= 0 && line.slice(comment).includes(';');
    })
    .map(({ number }) => number);
  t.same(offending, [], `${script}: no comment holds a semicolon, which PostgreSQL's migration run would split on`);
}
