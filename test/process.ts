// Tessera as a real process (node + tsx on src/server.ts), for the tests that need signals, sockets,
// several processes on one data directory, or a database that goes away under a running server.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

const LISTENING = /^listening on (127\.0\.0\.1:\d+)$/;

const root = fileURLToPath(new URL('..', import.meta.url));

export interface TesseraProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> once listening (the first worker's port in cluster mode: they share it). */
  url: string;
  /** Parsed JSON log lines so far; non-JSON lines (boot errors) are in `stderr`. */
  logs: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when a log line matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

/** Spawns Tessera with `env` (on top of a quiet test setup); resolves once it listens, rejects if it exits first. */
export function spawnTessera(
  t: Test,
  env: Record<string, string>,
  /** processGroup: the process leads a group of its own, to be signalled as a terminal or systemd would. */
  opts: { expectListen?: boolean; processGroup?: boolean } = {},
): Promise<TesseraProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.processGroup ?? false,
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line);
      } catch {
        stderr.push(line);
        continue;
      }
      logs.push(parsed);
      for (const w of [...waiters]) {
        if (!w.match(parsed)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const waitForLog = (match: (l: Record<string, unknown>) => boolean) => {
    const found = logs.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((resolve) => waiters.push({ match, resolve }));
  };
  const proc: TesseraProcess = { child, url: '', logs, stderr, exited, waitForLog };
  if (opts.expectListen === false) return Promise.resolve(proc);
  return Promise.race([
    // src/server.ts logs the socket without a scheme (the URL to use is ISSUER): "listening on 127.0.0.1:<port>".
    waitForLog((l) => typeof l.msg === 'string' && LISTENING.test(l.msg)).then((l) => {
      proc.url = `http://${LISTENING.exec(String(l.msg))![1]}`;
      return proc;
    }),
    exited.then(({ code }) => {
      throw new Error(`tessera exited (${code}) before listening: ${stderr.join('')}`);
    }),
  ]);
}
