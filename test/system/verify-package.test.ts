// @tessera/verify as a user gets it: `npm pack` of the workspace package, the tarball installed into a
// scratch project from outside this repository (jose and fastify from the registry), a TypeScript file
// type-checked against the package's own .d.ts, then run against a listening Tessera. What the package
// ships (and what it must not pull in) is checked on the tarball itself, not on the workspace folder. And
// docs/services.md's install block, run as written, packs it and installs the tarball into a service's folder.
// ci: embedded database only. What this file checks (packages, docs commands, processes on the embedded
// database) does not change with TEST_DATABASE_URL, so CI's PostgreSQL pass leaves it out (.ci/run).
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, decodeJwt } from 'jose';
import { buildTestApp, createTestDatabase, me, session, tempDir } from '../helper.js';
import { bash, block } from '../doc-shell.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// Children run as a user would run them: without tap's loaders or conditions.
const ENV: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
delete ENV.NODE_V8_COVERAGE;

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = ENV,
): Promise<{ code: number; output: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}`, stdout });
    });
  });
}

// A consumer's program: both entry points, the function and the Fastify plugin, with its types.
const CONSUMER = `
import Fastify from 'fastify';
import { createVerifier, tesseraAuth, TesseraVerifyError, type TesseraClaims } from '@tessera/verify';
import { ACCESS_TOKEN_TYPE, claimsProblem } from '@tessera/verify/contract';

const issuer = process.env.ISSUER!;
const token = process.env.TOKEN!;
const options = { issuer, audience: 'tessera', jwksUrl: process.env.JWKS_URL };
const verifier = createVerifier(options);
const claims: TesseraClaims = await verifier.verify(token);

/** The code a token is refused with. */
async function refusal(other: string): Promise<string | undefined> {
  try {
    await verifier.verify(other);
    return undefined;
  } catch (err) {
    if (err instanceof TesseraVerifyError) return err.code;
    throw err;
  }
}
const tampered = await refusal(token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
const notUuid = await refusal(process.env.NOT_UUID_TOKEN!);

const app = Fastify();
await app.register(tesseraAuth, options);
app.get('/me', { preHandler: app.requireAuth() }, async (request) => ({ sub: request.auth?.sub ?? null }));
const res = await app.inject({ url: '/me', headers: { authorization: 'Bearer ' + token } });
const bare = await app.inject({ url: '/me' });
await app.close();

const sub: string = claims.sub;
console.log(JSON.stringify({
  sub, sid: claims.sid, typ: ACCESS_TOKEN_TYPE, shape: claimsProblem({ ...claims }), tampered, notUuid,
  plugin: { status: res.statusCode, body: res.json() }, bare: { status: bare.statusCode, code: bare.json().code },
}));
`;

// The same package used wrongly: the types must say so.
const MISUSE = `
import { createVerifier } from '@tessera/verify';
const verifier = createVerifier({ issuer: 'https://auth.example.com' });
const claims = await verifier.verify('token');
export const tenant: string = claims.tenant;
export const alg = createVerifier({ issuer: 'https://auth.example.com', audience: 'api', algorithms: ['HS256'] });
`;

t.test('the packed @tessera/verify installs on its own, type-checks and verifies a real Tessera token', async (t) => {
  const out = await tempDir(t, 'tessera-verify-pack-');
  const packed = await run(
    'npm',
    ['pack', '--workspace', '@tessera/verify', '--pack-destination', out, '--json', '--no-audit', '--no-fund'],
    ROOT,
  );
  t.equal(packed.code, 0, `npm pack succeeds\n${packed.output}`);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = info!.files.map((f) => f.path).sort();

  t.test('the tarball holds the compiled ESM, its types, README and LICENSE, and no sources', async (t) => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/contract.js',
      'dist/contract.d.ts',
      'dist/fastify.js',
    ]) {
      t.ok(files.includes(f), `ships ${f}`);
    }
    t.same(
      files.filter((f) => f.startsWith('src/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.map')),
      [],
      'no TypeScript sources or source maps',
    );
  });

  const project = await tempDir(t, 'tessera-verify-consumer-');
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  const installed = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(out, info!.filename), 'fastify@5'],
    project,
  );
  t.equal(installed.code, 0, `npm install of the tarball succeeds\n${installed.output}`);

  t.test('it brings jose and nothing of the service (no Prisma, PGlite, argon2)', async (t) => {
    const manifest = JSON.parse(
      await readFile(path.join(project, 'node_modules/@tessera/verify/package.json'), 'utf8'),
    );
    t.same(Object.keys(manifest.dependencies), ['jose'], 'jose is the only dependency');
    t.same(manifest.peerDependenciesMeta, { fastify: { optional: true } }, 'fastify is an optional peer');
    t.equal(manifest.sideEffects, false, 'the package declares itself free of side effects');
    const top = await readdir(path.join(project, 'node_modules'));
    t.ok(top.includes('jose'), 'jose is installed along with the package');
    for (const absent of ['@prisma', 'prisma', '@electric-sql', 'argon2', 'pg', 'fastify-plugin'])
      t.notOk(top.includes(absent), `no ${absent}`);
  });

  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      skipLibCheck: false,
      outDir: 'out',
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules/@types')],
    },
  };
  await writeFile(path.join(project, 'consumer.ts'), CONSUMER);
  await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['consumer.ts'] }));
  await writeFile(path.join(project, 'misuse.ts'), MISUSE);
  await writeFile(
    path.join(project, 'tsconfig.misuse.json'),
    JSON.stringify({
      ...tsconfig,
      compilerOptions: { ...tsconfig.compilerOptions, noEmit: true },
      files: ['misuse.ts'],
    }),
  );

  t.test("a consumer's TypeScript compiles against the package's types, strict and without skipLibCheck", async (t) => {
    const tsc = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], project);
    t.equal(tsc.code, 0, `tsc succeeds\n${tsc.output}`);
  });

  t.test('the types refuse a missing audience, an unknown claim and an HMAC algorithm', async (t) => {
    const tsc = await run(process.execPath, [TSC, '-p', 'tsconfig.misuse.json'], project);
    t.not(tsc.code, 0, 'tsc fails');
    const errors = tsc.output.split('\n').filter((l) => l.startsWith('misuse.ts('));
    t.match(
      errors.find((l) => l.startsWith('misuse.ts(3,')),
      /error TS2345/,
      'no audience',
    );
    t.match(
      errors.find((l) => l.startsWith('misuse.ts(5,')),
      /error TS2339/,
      'no such claim as tenant',
    );
    t.match(
      errors.find((l) => l.startsWith('misuse.ts(6,')),
      /error TS(2322|2820)/,
      'HS256 is not a TesseraAlgorithm',
    );
  });

  t.test(
    'the installed package verifies a token from a listening Tessera, and refuses what Tessera refuses',
    async (t) => {
      // The embedded database whatever TEST_DATABASE_URL says: the subject is the package, not the database.
      const db = await createTestDatabase({ embedded: true });
      t.teardown(() => db.close());
      const { app, config } = await buildTestApp(t, { db });
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      const s = await session(app);
      // Signed with Tessera's own key, but `sub` is not a UUID: both sides of the contract refuse it.
      const payload = decodeJwt(s.accessToken);
      const { kid, alg, privateKey } = app.services.keys.signing;
      const notUuid = await new SignJWT({ ...payload, sub: 'admin' })
        .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
        .sign(privateKey);
      t.equal((await me(app, notUuid)).json().code, 'invalid_token', 'Tessera refuses a sub that is not a UUID');

      const node = await run(process.execPath, ['out/consumer.js'], project, {
        ...ENV,
        ISSUER: config.issuer,
        JWKS_URL: `${address}/.well-known/jwks.json`,
        TOKEN: s.accessToken,
        NOT_UUID_TOKEN: notUuid,
      });
      t.equal(node.code, 0, `the consumer runs\n${node.output}`);
      t.same(
        JSON.parse(node.stdout),
        {
          sub: s.user.id,
          sid: payload.sid,
          typ: 'at+jwt',
          shape: null,
          tampered: 'invalid_token',
          notUuid: 'invalid_token',
          plugin: { status: 200, body: { sub: s.user.id } },
          bare: { status: 401, code: 'missing_token' },
        },
        'the consumer verifies the token, the plugin guards its route, and both refuse what Tessera refuses',
      );
    },
  );
});

t.test('docs/services.md: the install block packs the verifier and installs it into a service', async (t) => {
  const service = await tempDir(t, 'tessera-orders-service-');
  await writeFile(path.join(service, 'package.json'), JSON.stringify({ name: 'orders-service', private: true }));
  // The block writes the tarball where it runs, the repository root, as a reader's shell would.
  t.teardown(() => rm(path.join(ROOT, 'tessera-verify-0.1.0.tgz'), { force: true }));
  const r = await bash(await block('docs/services.md', 'npm pack --workspace @tessera/verify'), {
    SERVICE_DIR: service,
  });
  t.equal(r.code, 0, `pack and install exit 0 (stderr: ${r.stderr.slice(-300)})`);
  const installed = JSON.parse(
    await readFile(path.join(service, 'node_modules', '@tessera', 'verify', 'package.json'), 'utf8'),
  ) as { name: string };
  t.equal(installed.name, '@tessera/verify', 'the service has the package');
  t.ok(
    (await readdir(path.join(service, 'node_modules'))).includes('jose'),
    'with jose, its one dependency, from the registry',
  );
});
