// System tier (it starts processes): the shards of one `npm test` run claim files from one folder at the same
// instant (test/shard-claims.ts). Four processes, each asking for everything from the same moment: every file
// goes to exactly one of them, and none is left over.
// ci: embedded database only. (No database at all.)
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);
const claimsModule = fileURLToPath(new URL('../shard-claims.ts', import.meta.url));
const FILES = Array.from({ length: 2000 }, (_, i) => `file-${i}`);

t.test('four processes claiming at once share every file out exactly once', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tessera-claims-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const claimsDir = path.join(dir, 'claims');
  const script = path.join(dir, 'claim.ts');
  await writeFile(
    script,
    [
      `import { mkdirSync } from 'node:fs';`,
      `import { Claims } from ${JSON.stringify(claimsModule)};`,
      `const [dir, startAt, count] = process.argv.slice(2);`,
      `mkdirSync(dir!, { recursive: true });`,
      `const files = Array.from({ length: Number(count) }, (_, i) => 'file-' + i);`,
      `while (Date.now() < Number(startAt)) {}`,
      `const claims = new Claims(dir!, files);`,
      `const mine: string[] = [];`,
      `for (let file = claims.next(); file !== undefined; file = claims.next()) mine.push(file);`,
      `console.log(JSON.stringify(mine));`,
    ].join('\n'),
  );
  const startAt = String(Date.now() + 2000);
  const outputs = await Promise.all(
    Array.from({ length: 4 }, () =>
      run(process.execPath, ['--import=tsx', script, claimsDir, startAt, String(FILES.length)], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
      }),
    ),
  );
  const shares = outputs.map(({ stdout }) => JSON.parse(stdout) as string[]);
  const all = shares.flat();
  t.equal(all.length, FILES.length, 'as many claims as files');
  t.same([...new Set(all)].sort(), [...FILES].sort(), 'every file claimed, none twice');
  t.ok(shares.filter((share) => share.length > 0).length >= 2, 'the processes did claim side by side');
});
