// How the shards of one `npm test` run share out the fast tiers' files as they go (test/shard.ts).
//
// A split fixed in advance, however well measured, left one shard running seconds after the other: a file's time
// depends on what runs beside it and on the machine that day. Claimed as they go, heaviest first, the files are
// shared out the way the machine actually runs them, and the shards end within a light file of each other.
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

/** Every fast-tier file, heaviest first (ties by name): the order the shards of one run claim them in. */
export function claimOrder(weights: Map<string, number>): string[] {
  return [...weights].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([file]) => file);
}

/**
 * The files the shards of one run share out as they go: each file goes to the first shard that asks for it
 * (creating a folder named for it is atomic, so two processes never both get one). Heaviest first, so the light
 * files come last and the two shards end within a light file of each other, whatever each file took on this
 * machine today. Claimed by name, not by place in the list: were a file added while the shards start, so that
 * their lists differ, no other file moves into its place (and is run twice, or by no shard).
 */
export class Claims {
  #next = 0;
  constructor(
    private readonly dir: string,
    private readonly files: string[],
  ) {}

  /** The next file nobody has claimed, now this shard's; undefined when all are taken. */
  next(): string | undefined {
    while (this.#next < this.files.length) {
      const file = this.files[this.#next++]!;
      try {
        mkdirSync(path.join(this.dir, encodeURIComponent(file)));
        return file;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    return undefined;
  }
}

/**
 * The claims of the shards tap started together for this run: a folder named for tap's runner process (their
 * parent) and the time it started, so no earlier run's folder is ever taken for this one's. Outside tap's runner,
 * or without /proc to read that time, there are none: each shard runs its share of the static split.
 */
export function claimsOfThisRun(count: number, files: string[]): Claims | undefined {
  if (process.env.TAP_CHILD_ID === undefined) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 22, starttime; the fields after the command name (in parentheses) start at field 3.
  const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  if (!started) return undefined;
  const dir = path.join(tmpdir(), `tessera-shards-${userInfo().uid}-${process.ppid}-${started}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Only a folder this user made and nobody else can write to: another user's, made in advance with every file
  // claimed, would make both shards run nothing.
  const owner = statSync(dir);
  if (owner.uid !== userInfo().uid || (owner.mode & 0o077) !== 0)
    throw new Error(`${dir}: not this user's own private folder; remove it and run the tests again`);
  // The last shard to leave removes the folder (one run alone, as `npx tap test/shards/fast-1-of-2.test.ts`, leaves
  // it in the temp folder). Both may leave at once: whichever removes it, the other's look finds nothing.
  process.once('exit', () => {
    try {
      mkdirSync(path.join(dir, `done-${process.pid}`), { recursive: true });
      if (readdirSync(dir).filter((name) => name.startsWith('done-')).length >= count)
        rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed by the other shard meanwhile
    }
  });
  return new Claims(dir, files);
}
