// The negative cache of metadata documents (src/domain/oauth/document-failures.ts): a refusal is remembered
// for its time and no longer, 0 seconds remembers nothing, and the memory is bounded: past 10,000 URLs the
// oldest are forgotten first, so a flood of distinct failing URLs can't grow a process without end.
import t from 'tap';
import { DocumentFailures } from '../../src/domain/oauth/document-failures.js';

t.test('a refusal is remembered for its time and then forgotten', async (t) => {
  const failures = new DocumentFailures(60);
  failures.remember('https://a.example/c.json', 'status 500', 1_000);
  t.equal(failures.recent('https://a.example/c.json', 60_999), 'status 500', 'within the minute it is known why');
  t.equal(failures.recent('https://a.example/c.json', 61_000), null, 'at the minute it is fetched again');
  t.equal(failures.recent('https://b.example/c.json', 1_000), null, 'another URL is not affected');
});

t.test('0 seconds remembers nothing', async (t) => {
  const failures = new DocumentFailures(0);
  failures.remember('https://a.example/c.json', 'status 500', 1_000);
  t.equal(failures.recent('https://a.example/c.json', 1_000), null, 'every request fetches when turned off');
});

t.test('past 10,000 URLs the oldest are forgotten first, and a renewed one counts as new', async (t) => {
  const failures = new DocumentFailures(60);
  const url = (i: number) => `https://h${i}.example/c.json`;
  for (let i = 0; i < 10_000; i++) failures.remember(url(i), 'refused', 0);
  failures.remember(url(0), 'refused again', 0); // renewed: now the newest
  failures.remember(url(10_000), 'refused', 0);
  t.equal(failures.recent(url(1), 0), null, 'the oldest entry made room for the new one');
  t.equal(failures.recent(url(0), 0), 'refused again', 'the renewed entry was kept');
  t.equal(failures.recent(url(10_000), 0), 'refused', 'the newest entry is remembered');
  t.equal(failures.recent(url(2), 0), 'refused', 'and only one entry went');
});
