// `npm start` as a process manager runs it: the server is npm's own child (no shell in between), so
// the SIGTERM a manager sends to npm reaches the server and nothing keeps serving. It prints the URL
// to use (ISSUER), not the socket's address. Also runs the compiled build, as the image does; a second build
// with nothing changed writes nothing; and `npm run dev` stops as wholly as `npm start` does.
// ci: embedded database only. What this file checks (packages, docs commands, processes on the embedded
// database) does not change with TEST_DATABASE_URL, so CI's PostgreSQL pass leaves it out (.ci/run).
import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../free-port.js';

// `npm start` compiles the project first: on a loaded machine that alone can take minutes. A bound, not a speed check.
t.setTimeout(480_000);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// As a user's shell would start it: without tap's loaders or the outer npm's settings, with this
// test's Node first on the PATH (so `npm` and the `node` it starts are the version under test).
const BASE_ENV: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter(
    (e): e is [string, string] =>
      e[1] !== undefined &&
      !/^(npm_|NODE_OPTIONS$|ISSUER$|PORT$|KEYS_DIR$|DATABASE_URL$|MALLOC_ARENA_MAX$)/i.test(e[0]),
  ),
);
BASE_ENV.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;

/** Polls until `check` gives a value; gives up after `withinMs` (a bound on a hang, not a speed check). */
async function eventually<T>(
  what: string,
  withinMs: number,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether something accepts connections on 127.0.0.1:port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The direct children of `pid`, with their command lines (ps works on Linux and macOS). */
function childrenOf(pid: number): Promise<{ pid: number; args: string }[]> {
  return new Promise((resolve, reject) => {
    execFile('ps', ['-A', '-o', 'pid=,ppid=,args='], (err, stdout) => {
      if (err) return reject(err);
      resolve(
        stdout
          .split('\n')
          .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
          .filter((m) => m !== null && Number(m[2]) === pid)
          .map((m) => ({ pid: Number(m![1]), args: m![3]! })),
      );
    });
  });
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test("npm start: the server is npm's child, prints the ISSUER URL, and SIGTERM to npm stops it", async (t) => {
  const port = await freePort();
  const env = {
    ...BASE_ENV,
    NODE_ENV: 'development',
    PORT: String(port),
    KEYS_DIR: await tempDir('tessera-start-keys-'),
    DATABASE_URL: 'pglite:memory',
    LOG_LEVEL: 'info',
  };
  const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout.on('data', (c: Buffer) => (output += c.toString()));
  npm.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  let serverPid: number | undefined;
  t.teardown(() => {
    if (!t.passing()) t.comment(output);
    for (const pid of [npm.pid, serverPid]) if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  });

  // `npm start` compiles first (prestart), so this waits for tsc too.
  const ready = await eventually('the ready line', 400_000, () => {
    if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}`);
    return output
      .split('\n')
      .map((l) => {
        try {
          return JSON.parse(l) as { msg?: string };
        } catch {
          return undefined;
        }
      })
      .find((l) => l?.msg?.startsWith('tessera ready'));
  });
  t.equal(ready.msg, `tessera ready at http://localhost:${port}`, 'the start line prints the URL to use');
  t.match(output, `listening on 127.0.0.1:${port}`, 'the log also gives the socket address it listens on');
  t.notMatch(output, /Server listening at http/, 'no second, different URL');
  const discovery = (await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json()) as {
    issuer: string;
  };
  t.equal(discovery.issuer, `http://localhost:${port}`, "discovery names ISSUER, not the socket's address");

  const children = await childrenOf(npm.pid!);
  t.equal(children.length, 1, 'one child');
  t.match(children[0]?.args, /^\S*node\S* dist\/src\/server\.js$/, 'and it is the server itself, not a shell');
  serverPid = children[0]!.pid;
  const serverEnv = (await readFile(`/proc/${serverPid}/environ`, 'utf8')).split('\0');
  t.ok(serverEnv.includes('MALLOC_ARENA_MAX=2'), 'it runs with two malloc arenas, as the image does');

  npm.kill('SIGTERM');
  t.equal(await exited, 0, 'npm exits cleanly');
  await eventually('the server to exit', 30_000, () => (alive(serverPid!) ? undefined : true));
  t.equal(await accepting(port), false, 'nothing serves on the port any more');
  t.match(output, /"signal":"SIGTERM"/, 'the server saw the SIGTERM and shut down gracefully');
});

t.test(
  'Ctrl-C on npm start (SIGINT to the whole process group, forwarded again by npm): the request in flight is answered and the server stops cleanly',
  async (t) => {
    const port = await freePort();
    const env = {
      ...BASE_ENV,
      NODE_ENV: 'development',
      PORT: String(port),
      KEYS_DIR: await tempDir('tessera-ctrlc-keys-'),
      DATABASE_URL: 'pglite:memory',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '0',
    };
    // The build is the previous test's; --ignore-scripts skips prestart, not the start script itself.
    // detached: npm leads a process group of its own, as a terminal's foreground job does.
    const npm = spawn('npm', ['start', '--ignore-scripts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    npm.stdout.on('data', (c: Buffer) => (output += c.toString()));
    npm.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    let serverPid: number | undefined;
    t.teardown(() => {
      if (!t.passing()) t.comment(output);
      for (const pid of [npm.pid, serverPid]) if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    });
    await eventually('the ready line', 120_000, () => {
      if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}`);
      return output.includes('tessera ready') ? true : undefined;
    });
    serverPid = (await childrenOf(npm.pid!))[0]?.pid;
    t.ok(serverPid, "the server runs as npm's child");
    const base = `http://127.0.0.1:${port}`;
    const credentials = { email: `ctrl-c-${Date.now()}@example.com`, password: 'correct horse battery staple' };
    const registered = await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials),
    });
    t.equal(registered.status, 201, 'registering works before Ctrl-C');

    // A login whose body is half sent when Ctrl-C comes; the rest follows once both signals have arrived.
    const body = JSON.stringify(credentials);
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${base}/auth/login`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      void eventually('the shutdown to begin', 30_000, () =>
        output.includes('"msg":"shutting down"') ? true : undefined,
      )
        .then(() => new Promise((r) => setTimeout(r, 500)))
        .then(() => req.end(body.slice(10)));
    });
    await new Promise((r) => setTimeout(r, 300)); // let the server read the headers
    process.kill(-npm.pid!, 'SIGINT'); // what the terminal does on Ctrl-C

    t.equal(await inFlight, 200, 'the request in flight was answered');
    await exited;
    await eventually('the server to exit', 30_000, () => (alive(serverPid!) ? undefined : true));
    // npm forwards the SIGINT too, but not on every version and not always before the server is gone: whether
    // one or two arrive, the server begins exactly one shutdown (test/system/shutdown.test.ts sends the second
    // signal itself, every time).
    t.equal(
      output.split('"msg":"shutting down"').length - 1,
      1,
      "the server began one shutdown, whether npm's forwarded SIGINT arrived or not",
    );
    t.notMatch(output, /exiting now|second SIGINT/, 'the second SIGINT (from npm) was not taken as "stop now"');
    t.match(output, /"signal":"SIGINT"/, 'the server shut down gracefully on SIGINT');
    t.equal(await accepting(port), false, 'nothing serves on the port any more');
  },
);

t.test(
  'the compiled server in production: refuses to start without ISSUER, then without keys (naming the compiled key command)',
  async (t) => {
    const keysDir = await tempDir('tessera-prod-keys-');
    const run = (args: string[], extra: Record<string, string>) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        execFile(
          process.execPath,
          args,
          {
            cwd: ROOT,
            env: {
              ...BASE_ENV,
              NODE_ENV: 'production',
              KEYS_DIR: keysDir,
              DATABASE_URL: 'pglite:memory',
              PORT: '0',
              ...extra,
            },
            timeout: 60_000,
          },
          (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, output: stdout + stderr }),
        );
      });
    // dist/ comes from the test above (`npm start` builds it).
    const noIssuer = await run(['dist/src/server.js'], {});
    t.equal(noIssuer.code, 1, 'the compiled server without ISSUER exits 1');
    t.match(noIssuer.output, /ISSUER must be set/, 'the error says ISSUER must be set');
    const noKeys = await run(['dist/src/server.js'], { ISSUER: 'https://auth.example.com' });
    t.equal(noKeys.code, 1, 'the compiled server without keys exits 1');
    t.match(noKeys.output, 'node dist/scripts/keys.js generate', 'the error names the command the image can run');
    t.match(noKeys.output, 'npm run keys -- generate', 'and the one for a checkout');
    const generated = await run(['dist/scripts/keys.js', 'generate'], {});
    t.equal(generated.code, 0, 'the compiled key command needs no ISSUER');
    t.match(generated.output, /\(active\)/, 'the generated key is reported active');
  },
);

t.test('a build with nothing changed since the last one compiles nothing (npm start builds first)', async (t) => {
  // dist/ and the packages' dist/ come from the first test (`npm start` built them).
  const outputs = ['dist/src/server.js', 'packages/verify/dist/index.js', 'packages/client/dist/index.js'];
  const mtimes = async () => Promise.all(outputs.map(async (f) => (await stat(path.join(ROOT, f))).mtimeMs));
  const before = await mtimes();
  const build = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('npm', ['run', 'build'], { cwd: ROOT, env: BASE_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
  if (build.code !== 0) t.comment(build.output);
  t.equal(build.code, 0, 'npm run build exits 0');
  t.same(await mtimes(), before, 'no output file was written again: tsc -b found every project up to date');
});

t.test('npm run dev: SIGTERM to npm stops the watcher and the server, and frees the port', async (t) => {
  const port = await freePort();
  const env = {
    ...BASE_ENV,
    NODE_ENV: 'development',
    PORT: String(port),
    KEYS_DIR: await tempDir('tessera-dev-keys-'),
    DATABASE_URL: 'pglite:memory',
    LOG_LEVEL: 'info',
  };
  const npm = spawn('npm', ['run', 'dev'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout.on('data', (c: Buffer) => (output += c.toString()));
  npm.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const started: number[] = [];
  t.teardown(() => {
    if (!t.passing()) t.comment(output);
    for (const pid of [npm.pid!, ...started]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  await eventually('the ready line', 120_000, () => {
    if (npm.exitCode !== null) throw new Error(`npm run dev exited ${npm.exitCode}`);
    return output.includes(`tessera ready at http://localhost:${port}`) ? true : undefined;
  });
  t.equal(await accepting(port), true, 'the dev server listens');
  // Every process under npm: the watcher and the server it runs.
  const queue = [npm.pid!];
  while (queue.length > 0) {
    for (const child of await childrenOf(queue.shift()!)) {
      started.push(child.pid);
      queue.push(child.pid);
    }
  }
  t.ok(started.length >= 2, 'npm runs the watcher, which runs the server');

  npm.kill('SIGTERM');
  await exited;
  await eventually('every process to exit', 30_000, () => (started.some(alive) ? undefined : true));
  t.equal(await accepting(port), false, 'nothing serves on the port any more');
  t.match(output, /"signal":"SIGTERM"/, 'the server saw the SIGTERM and shut down gracefully');
});
