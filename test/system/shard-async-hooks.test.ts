// System tier (it starts a test process): `npm test`'s shards run without tap's async hook
// (test/shard-async-hooks.ts). Proves the hook is left off there, and that an error thrown outside a test's await
// chain still fails the run, loudly, without it.
// ci: embedded database only. (No database at all.)
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);
const patch = fileURLToPath(new URL('../shard-async-hooks.ts', import.meta.url));

t.test('each shard entry imports the patch before anything else', async (t) => {
  for (const name of ['fast-1-of-2.test.ts', 'fast-2-of-2.test.ts']) {
    const text = await readFile(new URL(`../shards/${name}`, import.meta.url), 'utf8');
    const imports = text.split('\n').filter((line) => line.startsWith('import '));
    t.equal(imports[0], "import '../shard-async-hooks.js';", `${name}: its first import`);
  }
});

t.test('a test process with the patch: no domain hook, and a late throw fails the run', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tessera-shard-hooks-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'late-throw.test.ts');
  await writeFile(
    script,
    [
      `import ${JSON.stringify(patch)};`,
      `import t from ${JSON.stringify(import.meta.resolve('tap'))};`,
      `import { domainHooksLeftOff } from ${JSON.stringify(patch)};`,
      `t.test('throws later', async (t) => {`,
      `  console.log('# domain hooks left off: ' + domainHooksLeftOff());`,
      `  setTimeout(() => { throw new Error('thrown from a timer'); }, 5);`,
      `  await new Promise((resolve) => setTimeout(resolve, 100));`,
      `  t.pass('never reached');`,
      `});`,
      `t.test('the next test', async (t) => t.pass('runs only if the process survived'));`,
    ].join('\n'),
  );
  // A test process of its own, not a child of this run's tap (whose settings reach it through TAP_* variables).
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TAP')));
  const outcome = await run(process.execPath, ['--conditions=tessera-source', '--import=tsx', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env,
  }).then(
    () => ({ code: 0, stdout: '', stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  t.match(outcome.stdout, /# domain hooks left off: 1\b/, "tap's one domain hook was created and left off");
  t.not(outcome.code, 0, 'the process fails');
  t.match(outcome.stderr, /Error: thrown from a timer/, 'with the error printed');
  t.match(outcome.stdout, /not ok \d+ - throws later/, 'the test that was running is reported as failed');
  t.notMatch(outcome.stdout, /ok \d+ - the next test/, 'the next test is not reported as passed');
});
