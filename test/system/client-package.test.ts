// @tessera/client as it ships: no runtime dependency, ESM with its types, and a size budget. The budget is
// what an SPA pays on every cold load: the package minified by esbuild and gzipped must stay under 5 KB. And
// docs/sdk.md's blocks, run as written: the install block packs it and installs the tarball into an SPA's
// project, and the example's two servers start and serve the page, Tessera allowing its origin.
// ci: embedded database only. What this file checks (packages, docs commands, processes on the embedded
// database) does not change with TEST_DATABASE_URL, so CI's PostgreSQL pass leaves it out (.ci/run).
import t from 'tap';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { tempDir } from '../helper.js';
import { bash, bashServer, block } from '../doc-shell.js';
import { freePort } from '../free-port.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE = path.join(ROOT, 'packages', 'client');
const BUDGET_BYTES = 5 * 1024;
// npm pack builds the package and npm install runs in a scratch project: a minute or more on a loaded machine.
t.setTimeout(600_000);

t.test('the client is ESM with types and has no runtime dependency', async (t) => {
  const pkg = JSON.parse(await readFile(path.join(PACKAGE, 'package.json'), 'utf8')) as Record<string, unknown>;
  t.equal(pkg.type, 'module', 'an ES module package');
  t.notOk(pkg.dependencies, 'an app installs nothing else with it');
  t.notOk(pkg.peerDependencies, 'nor needs anything beside it');
  t.match(pkg.exports, { '.': { types: './dist/index.d.ts', default: './dist/index.js' } }, 'types ship with it');
});

t.test(`the client bundled, minified and gzipped stays under ${BUDGET_BYTES} bytes`, async (t) => {
  const out = await build({
    entryPoints: [path.join(PACKAGE, 'src', 'index.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0]!.contents;
  const gzipped = gzipSync(code, { level: 9 }).length;
  t.comment(`@tessera/client: ${code.length} bytes minified, ${gzipped} bytes gzipped`);
  t.ok(gzipped < BUDGET_BYTES, `${gzipped} bytes min+gzip is within the ${BUDGET_BYTES}-byte budget an SPA pays`);
  t.notMatch(
    new TextDecoder().decode(code),
    /localStorage|sessionStorage|document\.cookie/,
    'the token is never stored',
  );
});

t.test('docs/sdk.md: the install block packs the client and installs it into an SPA project', async (t) => {
  const spa = await tempDir(t, 'tessera-spa-');
  await writeFile(path.join(spa, 'package.json'), JSON.stringify({ name: 'my-spa', private: true }));
  // The block writes the tarball where it runs, the repository root, as a reader's shell would.
  t.teardown(() => rm(path.join(ROOT, 'tessera-client-0.1.0.tgz'), { force: true }));
  const r = await bash(await block('docs/sdk.md', 'npm pack --workspace @tessera/client'), { SPA_DIR: spa });
  t.equal(r.code, 0, `pack and install exit 0 (stderr: ${r.stderr.slice(-300)})`);
  const installed = JSON.parse(
    await readFile(path.join(spa, 'node_modules', '@tessera', 'client', 'package.json'), 'utf8'),
  ) as { name: string };
  t.equal(installed.name, '@tessera/client', "the SPA's project has the package");
  const deps = JSON.parse(await readFile(path.join(spa, 'package.json'), 'utf8')).dependencies;
  t.match(deps, { '@tessera/client': /tessera-client-0\.1\.0\.tgz$/ }, 'saved as a dependency on the tarball');
});

t.test('docs/sdk.md: Tessera and the example SPA start as shown, and Tessera lets the page call it', async (t) => {
  const [tessera, spa] = await Promise.all([freePort(), freePort()]);
  // The documented ports, 3000 and 5173, become free ones; Tessera gets its port as PORT.
  const ports = (script: string) => script.replaceAll('3000', String(tessera)).replaceAll('5173', String(spa));
  await bashServer(
    t,
    ports(await block('docs/sdk.md', 'npm run build')),
    { PORT: String(tessera), DATABASE_URL: 'pglite:memory', KEYS_DIR: await tempDir(t, 'tessera-spa-keys-') },
    `http://127.0.0.1:${tessera}/health/ready`,
  );
  await bashServer(t, ports(await block('docs/sdk.md', 'PORT=5173')), {}, `http://127.0.0.1:${spa}/`);
  const app = await fetch(`http://127.0.0.1:${spa}/app.js`);
  t.match(await app.text(), "from './sdk/index.js'", "the example's script imports the built package from /sdk/");
  const sdk = await fetch(`http://127.0.0.1:${spa}/sdk/index.js`);
  t.equal(sdk.status, 200, 'the built package is served');
  const preflight = await fetch(`http://127.0.0.1:${tessera}/auth/login`, {
    method: 'OPTIONS',
    headers: {
      origin: `http://localhost:${spa}`,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  });
  t.equal(
    preflight.headers.get('access-control-allow-origin'),
    `http://localhost:${spa}`,
    "Tessera allows the example's origin, as CORS_ORIGINS says",
  );
});
