// Bundles the service's entry point (npm run build, after tsc): dist/src/server.js becomes one file that loads a
// few chunks, instead of Node resolving, reading and evaluating some 1,100 modules at every start (TypeBox alone is
// 374 ES modules). Module loading was most of a PostgreSQL start's CPU (docs/operations-boot-and-memory.md).
// tsc's output stays beside it: the commands in dist/scripts and the tests import the unbundled modules, and the
// bundle runs the same sources. Packages that find files next to their own code at run time (WASM, native
// addons, worker threads) or load lazily anyway stay external and are loaded from node_modules as before.
// The chunks sit in dist/src/chunks/, two levels below the project root like dist/src/db/, so a path a module
// computes from its own location (src/db/migrate.ts: the project root) is the same bundled or not.
import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Like `tsc -b`, a build with nothing changed writes nothing: the stamp lists the files the last bundle read, and
// tsc's re-emitting dist/src/server.js (its entry point changed) makes the stamp stale too.
const stamp = `${root}dist/.bundle-inputs.json`;
const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : Number.POSITIVE_INFINITY);
if (existsSync(stamp)) {
  const since = mtime(stamp);
  const inputs = [...JSON.parse(readFileSync(stamp, 'utf8')), 'dist/src/server.js', 'scripts/bundle-server.mjs'];
  if (inputs.every((file) => mtime(`${root}${file}`) <= since)) process.exit(0);
}
rmSync(`${root}dist/src/chunks`, { recursive: true, force: true }); // chunk names carry a hash: drop the last build's

const external = [
  '@electric-sql/pglite', // WASM and data files located from its own URL
  'pglite-prisma-adapter',
  '@prisma/*', // the query compiler's WASM, the schema engine, the pg adapter
  'argon2', // native addon
  '@fastify/swagger', // reads its package.json and serves its static files from its own folder (API_DOCS)
  '@fastify/swagger-ui',
  'pino', // transports run in worker threads loaded by file name
  'thread-stream',
  'pg', // optional pg-native lookup; small
  'ioredis', // loaded only with REDIS_URL
  'nodemailer', // loaded on the first message
  'qrcode', // loaded on the first authenticator-app enrolment
  '@simplewebauthn/server', // loaded on the first passkey request
];

const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: { server: 'src/server.ts' },
  outdir: 'dist/src',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true, // server.js turns Node's compile cache on before it loads the chunks
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  external,
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
  legalComments: 'none',
  sourcemap: true, // npm run bench:profile maps a profile's frames back to their packages and sources
  logLevel: 'warning',
  metafile: true,
});
writeFileSync(stamp, JSON.stringify(Object.keys(metafile.inputs)));
