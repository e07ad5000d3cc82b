// Unit tier: the docs a reader copies from. Every block of shell commands in README and docs/ is either run
// by a test, named in a `<!-- run by <test> -->` line right above it (the test must exist and read that
// page), or says on its first line `# illustrative: …` and what the reader must put in. Without this, a new
// block would go unchecked as quietly as the README's did before the walkthrough became a script. The
// configuration page names every variable of the config schema and the errors page every code of the catalog,
// so each stays the complete reference.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { EnvSchema } from '../../src/config.js';
import { errorCatalog } from '../../src/errors.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Block {
  line: number;
  marker: string | undefined;
  body: string[];
}

/** The shell blocks of a Markdown page, each with the line above its fence. */
function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)```(\w*)$/.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    if (['sh', 'bash', 'shell'].includes(fence[2]!)) {
      const above = lines.slice(0, i).findLast((l) => l.trim() !== '');
      blocks.push({ line: i + 1, marker: above?.trim(), body: lines.slice(i + 1, end).map((l) => l.trim()) });
    }
    i = end;
  }
  return blocks;
}

t.test('the block reader finds shell blocks and the line above each', async (t) => {
  const blocks = shellBlocks(
    'text\n\n<!-- run by a -->\n```sh\necho 1\n```\n```json\n{}\n```\n  ```bash\n  # illustrative: x\n  ```\n',
  );
  t.equal(blocks.length, 2, 'the sh and bash blocks, not the json one');
  t.equal(blocks[0]!.marker, '<!-- run by a -->', 'the marker above the first');
  t.equal(blocks[1]!.body[0], '# illustrative: x', 'an indented block is read too');
});

for (const page of PAGES) {
  t.test(`every shell block of ${page} is run by a test or marked illustrative`, async (t) => {
    for (const block of shellBlocks(readFileSync(join(ROOT, page), 'utf8'))) {
      const where = `${page}:${block.line}`;
      const run = /^<!-- run by (.+) -->$/.exec(block.marker ?? '');
      if (!run) {
        t.match(
          block.body[0],
          /^# illustrative: \S/,
          `${where} is run by no test, so its first line says it is illustrative and what to put in`,
        );
        continue;
      }
      const tests = run[1]!.split(/,\s*/);
      for (const test of tests) t.ok(existsSync(join(ROOT, test)), `${where}: ${test} exists`);
      t.ok(
        tests.some((test) => existsSync(join(ROOT, test)) && readFileSync(join(ROOT, test), 'utf8').includes(page)),
        `${where}: one of ${tests.join(', ')} reads ${page}, so the block it runs is the one shown`,
      );
    }
  });
}

t.test('docs/configuration.md names every variable of the config schema', async (t) => {
  const text = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  const missing = Object.keys(EnvSchema.properties).filter((name) => !text.includes(`\`${name}\``));
  t.same(missing, [], 'an operator finds every setting on one page');
});

t.test('docs/errors.md lists every code of the error catalog with its status', async (t) => {
  const text = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  for (const [code, { status }] of Object.entries(errorCatalog))
    t.match(
      text,
      new RegExp(`^\\| \`${code}\` \\| ${status} \\|`, 'm'),
      `a client finds ${code} (${status}) in the table`,
    );
});
