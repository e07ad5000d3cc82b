// Issue 14.2: the embedded database's disk fills up. Clients get 503 with Retry-After (never a 500 or a
// hang), operators a `database_disk_full` log line and a failing readiness; once space is freed the
// same process serves writes again. Runs on a small tmpfs the test mounts (needs CAP_SYS_ADMIN).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, writeSync, closeSync, rmSync, rmdirSync } from 'node:fs';
import { spawnTessera } from '../process.js';
import { failIfMissing, skipUnlessCi } from '../prerequisite.js';
import { PASSWORD, tempDir, uniqueEmail } from '../helper.js';

function mountTmpfs(): { dir: string } | { missing: string } {
  const dir = mkdtempSync('/tmp/tessera-diskfull-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    rmdirSync(dir);
    return { missing: `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})` };
  }
}

/** Writes a file until the file system refuses (ENOSPC). */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

const mounted = mountTmpfs();

t.test(
  'the embedded database on a full disk: 503 with Retry-After, a clear log line, readiness false, recovery once space is freed',
  skipUnlessCi('missing' in mounted ? mounted.missing : undefined),
  async (t) => {
    if (failIfMissing(t, 'missing' in mounted ? mounted.missing : undefined) || !('dir' in mounted)) return;
    t.teardown(() => {
      execFileSync('umount', ['-l', mounted.dir]);
      rmdirSync(mounted.dir);
    });
    const tessera = await spawnTessera(t, { DATABASE_URL: `pglite:${mounted.dir}/data`, KEYS_DIR: await tempDir(t) });
    // A long User-Agent (kept, clipped to 512 bytes, in each audit row) fills pages faster.
    const call = (path: string, body?: unknown) =>
      fetch(`${tessera.url}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { 'user-agent': 'x'.repeat(600), ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(20_000), // a hang fails the test instead of stalling it
      });
    const email = uniqueEmail();
    t.equal(
      (await call('/auth/register', { email, password: PASSWORD })).status,
      201,
      'registering works before the disk fills',
    );

    fill(`${mounted.dir}/filler`);
    // Logins write a session, a refresh token and an audit row: soon a table must grow a page, and can't.
    const statuses: number[] = [];
    const retryAfter: (string | null)[] = [];
    const client = async () => {
      while (statuses.length < 300 && !statuses.includes(503)) {
        const res = await call('/auth/login', { email, password: PASSWORD });
        statuses.push(res.status);
        if (res.status === 503) retryAfter.push(res.headers.get('retry-after'));
        await res.arrayBuffer();
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    t.ok(statuses.includes(503), `writes on a full disk answer 503 (after ${statuses.length} requests)`);
    t.notOk(
      statuses.some((s) => s === 500),
      'never 500',
    );
    t.ok(
      retryAfter.every((r) => r !== null && Number(r) > 0),
      'with Retry-After',
    );
    t.ok(
      tessera.logs.some((l) => l.event === 'database_disk_full'),
      'a database_disk_full log line',
    );
    // An orchestrator probes readiness every few seconds through the fault: each probe answers 503, and none
    // leaves a timer behind that ends the process (the readiness bound is 2 s, so 6 s of probes would see it).
    const probes: number[] = [];
    for (let i = 0; i < 12; i++) {
      probes.push((await call('/health/ready')).status);
      await new Promise((r) => setTimeout(r, 500));
    }
    t.same(new Set(probes), new Set([503]), 'readiness says not ready at every probe through the fault');
    t.equal(tessera.child.exitCode, null, 'and the process probed through the fault is still running');
    t.equal((await call('/health/live')).status, 200, 'liveness still answers: the process is not hung');

    rmSync(`${mounted.dir}/filler`);
    let status = 0;
    for (let i = 0; i < 20 && status !== 201; i++) {
      const res = await call('/auth/register', { email: uniqueEmail(), password: PASSWORD });
      status = res.status;
      await res.arrayBuffer();
    }
    t.equal(status, 201, 'writes work again in the same process once space is freed');
    t.equal((await call('/health/ready')).status, 200, 'and readiness is back');
    tessera.child.kill('SIGTERM');
    t.equal((await tessera.exited).code, 0, 'and it still shuts down cleanly');
  },
);
