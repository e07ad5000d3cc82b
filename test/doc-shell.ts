// Running a shell block of the docs as written (test/system/docs-blocks.test.ts, webhooks-docs.test.ts): find it by
// its first command line, run it with bash as a reader's shell would (this Node first on the PATH, none of
// tap's loaders), with the values a reader puts in passed as environment variables.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

export function bash(
  script: string,
  env: Record<string, string>,
  /** Where the reader's shell is: the repository root unless a block reads files the service wrote elsewhere. */
  cwd = ROOT,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script],
      {
        cwd,
        timeout: 600_000,
        env: {
          // As a reader's shell: this Node first on the PATH, none of tap's loaders.
          PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
          HOME: process.env.HOME ?? ROOT,
          LOG_LEVEL: 'silent',
          ...env,
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
