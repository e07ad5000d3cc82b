// Running a shell block of the docs as written (test/system/docs-blocks.test.ts, webhooks-docs.test.ts): find it by
// its first command line, run it with bash as a reader's shell would (this Node first on the PATH, none of
// tap's loaders), with the values a reader puts in passed as environment variables.
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The service's address as the docs write it; tests replace it with their server's. */
export const DOCUMENTED = 'http://localhost:3000';

/** The ```sh block of `page` whose first command line starts with `first`, with its indentation removed. */
export async function block(page: string, first: string): Promise<string> {
  const text = await readFile(path.join(ROOT, page), 'utf8');
  for (const m of text.matchAll(/^( *)```sh\n([\s\S]*?)^ *```$/gm)) {
    const lines = m[2]!.split('\n').map((l) => l.slice(m[1]!.length));
    if (lines.find((l) => !l.startsWith('#'))?.startsWith(first)) return lines.join('\n');
  }
  throw new Error(`${page} has no sh block starting with ${first}`);
}

/** The environment of a reader's shell: this Node first on the PATH, none of tap's loaders. */
function readerEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? ROOT,
    LOG_LEVEL: 'silent',
    ...env,
  };
}

export function bash(
  script: string,
  env: Record<string, string>,
  /** Where the reader's shell is: the repository root unless a block reads files the service wrote elsewhere. */
  cwd = ROOT,
  /** Called with each piece of stdout as it comes, for a block that waits on the reader (an approval). */
  onStdout?: (chunk: string) => void,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'bash',
      ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script],
      {
        cwd,
        timeout: 600_000,
        env: readerEnv(env),
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
    if (onStdout) child.stdout?.on('data', (c: Buffer) => onStdout(c.toString('utf8')));
  });
}

/**
 * A block that starts a server and keeps running, as in a terminal of its own: started in a process group of its
 * own, stopped with the test (SIGTERM to the group, as Ctrl-C would, then SIGKILL). Resolves once `ready`
 * (a URL) answers 200; rejects with the output if the block exits first.
 */
export async function bashServer(
  t: Test,
  script: string,
  env: Record<string, string>,
  ready: string,
): Promise<{ output: () => string }> {
  const child = spawn('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], {
    cwd: ROOT,
    env: readerEnv(env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  t.teardown(async () => {
    if (done) return;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, name);
      } catch {
        // The group has already gone.
      }
    };
    signal('SIGTERM');
    const killer = setTimeout(() => signal('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  });
  for (;;) {
    if (done) throw new Error(`the block exited before ${ready} answered:\n${output.slice(-2000)}`);
    const ok = await fetch(ready).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { output: () => output };
    await new Promise((r) => setTimeout(r, 250));
  }
}
