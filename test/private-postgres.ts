// A private PostgreSQL for tests that stop and restart the server (never the shared one): initdb under /tmp,
// bound to 127.0.0.1 on a free port, removed at the test's end. The binaries are found (any version: pg_config,
// then /usr/lib/postgresql/<newest>/bin, then PATH), not assumed; as root the server runs as the postgres user
// (PostgreSQL refuses to run as root), otherwise as the current user.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, chownSync, readdirSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { freePort } from './free-port.js';

/** The directory holding initdb and pg_ctl, or undefined. */
function findBinDir(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { stdio: 'pipe' }).toString().trim());
  } catch {
    // no pg_config on PATH
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // not Debian's layout
  }
  candidates.push(...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean));
  return candidates.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl')));
}

const BIN = findBinDir();
const asRoot = userInfo().uid === 0;

/** Why a private PostgreSQL can't be made here, or undefined when it can. */
export function privatePostgresMissing(): string | undefined {
  if (!BIN) return 'PostgreSQL server binaries (initdb, pg_ctl) not found via pg_config, /usr/lib/postgresql or PATH';
  if (asRoot) {
    try {
      uidOf('postgres');
    } catch {
      return 'running as root, but there is no postgres user to run the server as';
    }
  }
  return undefined;
}

export interface PrivatePostgres {
  url: string;
  dataDir: string;
  pgCtl(...args: string[]): void;
}

export async function startPrivatePostgres(t: Test, opts: { dataDir?: string } = {}): Promise<PrivatePostgres> {
  const missing = privatePostgresMissing();
  if (missing) throw new Error(`cannot start a private PostgreSQL: ${missing}`);
  const root = mkdtempSync('/tmp/tessera-pg-');
  if (asRoot) chownSync(root, uidOf('postgres'), gidOf('postgres'));
  const dataDir = opts.dataDir ?? `${root}/data`;
  const port = await freePort();
  const run = (cmd: string, ...args: string[]) => {
    const bin = path.join(BIN!, cmd);
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    execFileSync(file, argv, { stdio: 'pipe', timeout: 60_000 });
  };
  run('initdb', '-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync');
  const pgCtl = (...args: string[]) =>
    run(
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
  return Number(execFileSync('id', ['-u', user], { stdio: 'pipe' }).toString().trim());
}
function gidOf(user: string): number {
  return Number(execFileSync('id', ['-g', user], { stdio: 'pipe' }).toString().trim());
}
