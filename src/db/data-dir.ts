// The embedded database's directory: private to its owner (0700 directories, 0600 files, as PostgreSQL
// itself insists: the WAL holds password hashes), and held by one process at a time. PGlite has no
// server to arbitrate; two processes on one directory would each keep their own copy in memory and
// silently overwrite each other's writes. A lock file with the holder's pid makes the second one refuse.
import fs from 'node:fs/promises';
import path from 'node:path';

export class DataDirError extends Error {
  override name = 'DataDirError';
}

const LOCK_FILE = 'tessera.lock';

/** Makes `dir` private (tightening an existing one) and locks it; returns the function that unlocks it. */
export async function claimDataDir(dir: string): Promise<() => Promise<void>> {
  // PGlite creates its files through Node with default modes: PostgreSQL's own umask, for the whole process.
  process.umask(0o077);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await tighten(dir);
  const lock = path.join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return async () => {
        await fs.rm(lock, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const holder = Number.parseInt(await fs.readFile(lock, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
      throw new DataDirError(
        `the embedded database in ${path.resolve(dir)} is in use by process ${holder}: ` +
          'it serves one process only (use PostgreSQL for several instances or WORKERS > 1)',
      );
    }
    // A lock left by a process that died (or by this pid in a previous container life): take it over.
    await fs.rm(lock, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** 0700 for directories, 0600 for files, for the directory and everything in it that is looser. */
async function tighten(dir: string): Promise<void> {
  const stat = await fs.stat(dir);
  if ((stat.mode & 0o077) !== 0) await fs.chmod(dir, 0o700);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await tighten(full);
    else if (entry.isFile() && ((await fs.stat(full)).mode & 0o077) !== 0) await fs.chmod(full, 0o600);
  }
}
