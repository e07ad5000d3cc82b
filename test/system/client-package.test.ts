// @tessera/client as it ships: no runtime dependency, ESM with its types, and a size budget. The budget is
// what an SPA pays on every cold load: the package minified by esbuild and gzipped must stay under 5 KB.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PACKAGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'client');
const BUDGET_BYTES = 5 * 1024;

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
