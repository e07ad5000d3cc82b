// Tessera and the example resource service as two real processes: a token from Tessera opens the
// service, keeps working across a key rotation (no restart of the service), and once its session is
// revoked is refused at once where the service introspects, and only there.
// ci: embedded database only. What this file checks (packages, docs commands, processes on the embedded
// database) does not change with TEST_DATABASE_URL, so CI's PostgreSQL pass leaves it out (.ci/run).
import t, { type Test } from 'tap';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeProtectedHeader } from 'jose';
import { freePort } from '../free-port.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE_ARGS = ['--conditions=tessera-source', '--import', 'tsx'];
// Children run as a user would start them: without tap's loaders.
const BASE_ENV = { ...process.env, NODE_OPTIONS: '' };

/** Polls `check` every `everyMs` until it gives a value; fails after `withinMs`, or at once if `died` says so. */
async function eventually<T>(
  what: string,
  withinMs: number,
  check: () => Promise<T | undefined>,
  opts: { everyMs?: number; died?: Proc } = {},
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const dead = opts.died?.child.exitCode ?? opts.died?.child.signalCode;
    if (dead != null)
      throw new Error(`${opts.died!.name} exited (${dead}) while waiting for ${what}:\n${opts.died!.output}`);
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${withinMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, opts.everyMs ?? 200));
  }
}

/** Runs `node --import tsx …args` to completion. */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ...args],
      { cwd: ROOT, env: { ...BASE_ENV, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, output: stdout + stderr });
      },
    );
  });
}

interface Proc {
  name: string;
  child: ChildProcess;
  output: string;
  exited: Promise<number | null>;
}

/** Starts `node … script`; the process is stopped at the test's end, whatever happens. */
function start(t: Test, name: string, script: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [...NODE_ARGS, script], {
    cwd: ROOT,
    env: { ...BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: Proc = {
    name,
    child,
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (c: Buffer) => (proc.output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (proc.output += c.toString()));
  t.teardown(async () => {
    if (!t.passing()) t.comment(`--- ${name} output ---\n${proc.output}`);
    await stop(proc);
  });
  return proc;
}

/** SIGTERM, then SIGKILL if it hasn't exited within 10 s. */
async function stop(proc: Proc): Promise<number | null> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

async function tempDir(t: Test, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const json = (body: unknown) => ({ 'content-type': 'application/json', body: JSON.stringify(body) });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('a resource service next to Tessera: verify, rotate, revoke', async (t) => {
  // Teardowns run last-registered first: processes stop before their folders are removed.
  const keysDir = await tempDir(t, 'tessera-e2e-keys-');
  const dataDir = await tempDir(t, 'tessera-e2e-data-');
  const clientSecret = randomBytes(32).toString('base64url');
  const secretHash = createHash('sha256').update(clientSecret).digest('base64url');
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;

  const tesseraEnv = {
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    DATABASE_URL: `pglite:${dataDir}`,
    KEYS_DIR: keysDir,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    SERVICE_CLIENTS: `example:sha256:${secretHash}`,
    JWKS_MAX_AGE_SECONDS: '1',
    KEYS_RELOAD_SECONDS: '1',
  };
  const tessera = start(t, 'tessera', 'src/server.ts', tesseraEnv);
  await eventually(
    'Tessera to be ready',
    60_000,
    async () => ((await fetch(`${issuer}/health/ready`)).ok ? true : undefined),
    { died: tessera },
  );

  const example = start(t, 'example', 'examples/resource-service/server.ts', {
    TESSERA_ISSUER: issuer,
    TESSERA_CLIENT_ID: 'example',
    TESSERA_CLIENT_SECRET: clientSecret,
    PORT: '0',
    HOST: '127.0.0.1',
  });
  const service = await eventually(
    'the example to print its address',
    30_000,
    async () => /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(example.output)?.[1],
    { died: example, everyMs: 50 },
  );

  const tesseraCall = (method: string, url: string, headers: Record<string, string> = {}, body?: string) =>
    fetch(`${issuer}${url}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const notes = (token: string) => fetch(`${service}/notes`, { headers: bearer(token) });
  const transfer = (token: string) => fetch(`${service}/transfers`, { method: 'POST', headers: bearer(token) });
  const login = async (email: string, password: string): Promise<string> => {
    const { body, ...headers } = json({ email, password });
    const res = await tesseraCall('POST', '/auth/login', headers, body);
    if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  };

  const email = `e2e-${randomBytes(4).toString('hex')}@example.com`;
  const password = 'correct horse battery staple';
  const { body: regBody, ...regHeaders } = json({ email, password });
  const registered = await tesseraCall('POST', '/auth/register', regHeaders, regBody);
  t.equal(registered.status, 201, 'registered');
  const userId = ((await registered.json()) as { user: { id: string } }).user.id;
  const first = await login(email, password);
  const firstKid = decodeProtectedHeader(first).kid;

  t.test('a fresh token opens both routes', async (t) => {
    t.equal((await fetch(`${service}/health`)).status, 200, 'the example service is up');
    const res = await notes(first);
    t.equal(res.status, 200, 'a fresh token opens GET /notes');
    t.equal(((await res.json()) as { user: string }).user, userId, "GET /notes sees the token's user");
    const tr = await transfer(first);
    t.equal(tr.status, 200, 'introspection says active');
    t.same(await tr.json(), { ok: true, user: userId }, "the transfer is made for the token's user");
    t.equal((await fetch(`${service}/notes`)).status, 401, 'and no token opens nothing');
  });

  let second = '';
  t.test('after a key rotation, new and old tokens both pass, without restarting the service', async (t) => {
    // The script reads Tessera's own configuration: with its JWKS_MAX_AGE_SECONDS and KEYS_RELOAD_SECONDS
    // the promoted key may sign about two seconds later.
    const rotate = await run(['scripts/keys.ts', 'rotate'], tesseraEnv);
    t.equal(rotate.code, 0, `scripts/keys.ts rotate: ${rotate.output.trim()}`);
    if (rotate.code !== 0) return;
    // Each Tessera instance re-reads KEYS_DIR every KEYS_RELOAD_SECONDS; log in until the new key signs.
    second = await eventually(
      'a token signed with the rotated key',
      15_000,
      async () => {
        const token = await login(email, password);
        return decodeProtectedHeader(token).kid !== firstKid ? token : undefined;
      },
      { everyMs: 250, died: tessera },
    );
    t.not(decodeProtectedHeader(second).kid, firstKid, 'signed with another key');
    t.equal((await notes(second)).status, 200, 'the new kid verifies');
    t.equal((await transfer(second)).status, 200, "the transfer route's introspection accepts the new token");
    t.equal((await notes(first)).status, 200, 'the old key is still published');
    t.equal((await transfer(first)).status, 200, "the transfer route's introspection accepts the old token");
  });

  t.test('revocation: introspected routes refuse at once, plain ones until the token expires', async (t) => {
    const token = second || first;
    const out = await tesseraCall('POST', '/auth/logout-all', bearer(token));
    t.equal(out.status, 204, 'logout-all');
    for (const tk of new Set([first, token])) {
      const tr = await transfer(tk);
      t.equal(
        tr.status,
        401,
        `${tk === first ? 'the first' : 'the latest'} token: the introspecting route refuses it after logout-all`,
      );
      t.equal(
        ((await tr.json()) as { code: string }).code,
        'token_revoked',
        `${tk === first ? 'the first' : 'the latest'} token: refused as revoked`,
      );
      t.match(
        tr.headers.get('www-authenticate'),
        /^Bearer error="invalid_token"/,
        `${tk === first ? 'the first' : 'the latest'} token: the challenge says invalid_token`,
      );
      t.equal((await notes(tk)).status, 200, 'GET /notes checks the token alone: the documented trade-off');
    }

    // A service can also revoke a token itself (RFC 7009), as the client it is.
    const third = await login(email, password);
    t.equal((await transfer(third)).status, 200, 'a new token opens the transfer route');
    const basic = `Basic ${Buffer.from(`example:${clientSecret}`).toString('base64')}`;
    const revoked = await tesseraCall(
      'POST',
      '/oauth/revoke',
      { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ token: third, token_type_hint: 'access_token' }).toString(),
    );
    t.equal(revoked.status, 200, '/oauth/revoke');
    const tr = await transfer(third);
    t.equal(tr.status, 401, 'the token the service revoked no longer opens the transfer route');
    t.equal(((await tr.json()) as { code: string }).code, 'token_revoked', 'the refusal says the token is revoked');
  });

  t.test('the service stops cleanly on SIGTERM', async (t) => {
    t.equal(await stop(example), 0, 'the example service exits 0 on SIGTERM');
  });
});
