// A private PostgreSQL 15 for tests that stop and restart the server (never the shared one):
// initdb under /tmp as the postgres user, bound to 127.0.0.1 on a free port, removed at the test's end.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, chownSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Test } from 'tap';
import { freePort } from './free-port.js';

const BIN = '/usr/lib/postgresql/15/bin';

/** Why a private PostgreSQL can't be made here, or undefined when it can. */
export function privatePostgresMissing(): string | undefined {
  if (!existsSync(`${BIN}/pg_ctl`)) return `PostgreSQL 15 binaries not found in ${BIN}`;
  if (userInfo().uid !== 0) return 'starting a private PostgreSQL needs root (runuser -u postgres)';
  return undefined;
}

export interface PrivatePostgres {
  url: string;
  dataDir: string;
  pgCtl(...args: string[]): void;
}

export async function startPrivatePostgres(t: Test, opts: { dataDir?: string } = {}): Promise<PrivatePostgres> {
  const root = mkdtempSync('/tmp/tessera-pg-');
  chownSync(root, uidOf('postgres'), gidOf('postgres'));
  const dataDir = opts.dataDir ?? `${root}/data`;
  const port = await freePort();
  const run = (cmd: string, ...args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', `${BIN}/${cmd}`, ...args], { stdio: 'pipe', timeout: 60_000 });
  run('initdb', '-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync');
  const pgCtl = (...args: string[]) =>
    void run(
      'pg_ctl',
      '-D',
      dataDir,
      '-l',
      `${root}/log`,
      '-w',
      '-t',
      '30',
      '-o',
      `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`,
      ...args,
    );
  pgCtl('start');
  t.teardown(() => {
    try {
      pgCtl('stop', '-m', 'immediate');
    } catch {
      // already stopped
    }
    rmSync(root, { recursive: true, force: true });
  });
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dataDir, pgCtl };
}

function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user]).toString().trim());
}
function gidOf(user: string): number {
  return Number(execFileSync('id', ['-g', user]).toString().trim());
}
