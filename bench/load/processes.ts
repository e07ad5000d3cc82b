// Starting and stopping the processes a load run needs, so that nothing outlives the benchmark:
// every start registers its own undo in a Cleanup, which runs in reverse order on success,
// failure, or Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { procStat, processTree } from './proc-cpu.js';

export class Cleanup {
  private readonly steps: Array<{ name: string; run: () => Promise<void> }> = [];

  add(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  /** Runs every step (newest first), even if some fail. */
  async runAll(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        console.error(`cleanup: ${step.name}: ${(err as Error).message}`);
      }
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function tempDir(cleanup: Cleanup, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanup.add(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Running {
  child: ChildProcess;
  pid: number;
  /** The last 4 KiB the process wrote (stdout and stderr), for a failure message. */
  stderr(): string;
  exited(): boolean;
}

/**
 * Spawns a long-running process and registers its stop: SIGTERM to it, then SIGKILL to whatever is
 * left of its tree (workers included) after `graceMs`.
 */
export function startProcess(
  cleanup: Cleanup,
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  graceMs = 15_000,
): Running {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const keep = (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-4096);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.once('error', () => {
    exited = true;
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  cleanup.add(`stop ${name}`, async () => {
    if (exited) return;
    const tree = processTree(pid);
    child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([gone, timer])) === 'timeout')
      console.error(`cleanup: ${name} did not stop in ${graceMs} ms; killing it`);
    for (const p of tree) {
      // Leftovers only (a worker that outlived its primary), and only the very process we saw.
      if (procStat(p.pid)?.startTicks !== p.startTicks) continue;
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    await gone;
  });
  return { child, pid, stderr: () => err, exited: () => exited };
}

/** Polls `url` until it answers 200, the process exits, or `timeoutMs` passes. */
export async function waitForHttp(url: string, proc: Running, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited()) throw new Error(`${name} exited during startup:\n${proc.stderr()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(`${name} did not answer ${url} within ${timeoutMs} ms:\n${proc.stderr()}`);
}
