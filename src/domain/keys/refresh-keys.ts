// The MAC keys of refresh tokens (src/domain/sessions/refresh-tokens.ts), kept with the signing keys in KEYS_DIR.
//
// Why files and not the database: a refresh token is (session, counter, MAC). Everything but the MAC is in
// the database, so a dump alone must not be enough to mint one; the key lives where the signing keys live,
// apart from the data, shared by every instance the same way and re-read every KEYS_RELOAD_SECONDS.
//
// `refresh-<YYYYMMDDTHHMMSSZ>-<8 hex>.key`: 32 random bytes (base64url text), mode 0600. The hex part is
// the key id a token names. Rotation adds a key; it starts minting once every instance has re-read the
// folder (twice the reload interval, as for signing keys), so all instances mint with the same key at the
// same time, while every older key keeps verifying: nobody is logged out. A key superseded for longer than
// a token can live (the shorter of REFRESH_TOKEN_TTL_SECONDS and SESSION_IDLE_SECONDS, plus reload and
// skew) verifies nothing live any more, and `npm run keys -- prune` deletes it. Deleting a key by hand
// ends every session whose current token it made (for a leaked key: the users log in again).
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { isReadOnlyError, KeyError } from './key-files.js';
import { withLock } from './key-rotation.js';
import { CLOCK_SKEW_SECONDS } from '@tessera/verify/contract';

const FILE = /^refresh-(\d{8}T\d{6}Z)-([0-9a-f]{8})\.key$/;
const SECRET_BYTES = 32;
const MAC_KEY_COMMAND = '`npm run keys -- rotate-refresh`';

export interface MacKey {
  /** 8 hex characters; the 4 bytes a token carries. */
  id: string;
  secret: Buffer;
  createdAt: Date;
  file: string;
}

export interface MacKeyPolicy {
  /** Every instance re-reads KEYS_DIR this often. */
  reloadSeconds: number;
  /** The longest a refresh token can stay live after its key stopped minting. */
  tokenLifetimeSeconds: number;
}

type MacKeyState = 'next' | 'active' | 'retired';

export interface MacKeyStatus {
  key: MacKey;
  state: MacKeyState;
  retiredAt: Date | null;
  /** Retired for longer than any token it made can live: `prune` deletes it. */
  prunable: boolean;
}

const stampOf = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
const dateOf = (s: string) =>
  new Date(
    `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`,
  );

export async function readMacKeys(dir: string): Promise<MacKey[]> {
  const entries = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw new KeyError(`cannot read KEYS_DIR ${path.resolve(dir)}: ${err.code}`);
  });
  const keys: MacKey[] = [];
  for (const file of entries.sort()) {
    const m = FILE.exec(file);
    if (!m) continue;
    const secret = Buffer.from((await fs.readFile(path.join(dir, file), 'utf8')).trim(), 'base64url');
    if (secret.length !== SECRET_BYTES)
      throw new KeyError(`refresh key file ${file} must hold ${SECRET_BYTES} bytes in base64url`);
    if (keys.some((k) => k.id === m[2])) throw new KeyError(`refresh key file ${file}: another key has the id ${m[2]}`);
    keys.push({ id: m[2]!, secret, createdAt: dateOf(m[1]!), file });
  }
  return keys;
}

/**
 * Each key's state at `now`. A key may mint from 2 × reloadSeconds after it was made (every instance has
 * read it by then); the latest such key mints. Before any has waited that long (the very first key), the
 * oldest mints. Throws KeyError when there is no key at all.
 */
function macKeyStates(keys: MacKey[], now: Date, policy: MacKeyPolicy): MacKeyStatus[] {
  if (keys.length === 0) throw new KeyError(`no refresh-token key in KEYS_DIR: create one with ${MAC_KEY_COMMAND}`);
  const t = now.getTime();
  const lead = 2 * policy.reloadSeconds * 1000;
  const order = [...keys].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  const ready = order.filter((k) => k.createdAt.getTime() + lead <= t);
  const active = ready.at(-1) ?? order[0]!;
  const keep = (policy.tokenLifetimeSeconds + policy.reloadSeconds + CLOCK_SKEW_SECONDS) * 1000;
  return order.map((key) => {
    if (key === active) return { key, state: 'active', retiredAt: null, prunable: false };
    const rank = order.indexOf(key);
    // Superseded when the first later key became ready.
    const successor = ready.find((k) => order.indexOf(k) > rank);
    if (!successor || rank > order.indexOf(active)) return { key, state: 'next', retiredAt: null, prunable: false };
    const retiredAt = new Date(successor.createdAt.getTime() + lead);
    return { key, state: 'retired', retiredAt, prunable: retiredAt.getTime() + keep <= t };
  });
}

/** Writes a new key (temporary file, then rename: no reader sees half of it). Returns its id. */
async function generateMacKey(dir: string, now: Date): Promise<string> {
  const id = randomBytes(4).toString('hex');
  const file = `refresh-${stampOf(now)}-${id}.key`;
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${file}.${randomBytes(4).toString('hex')}`);
  await fs.writeFile(tmp, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  await fs.rename(tmp, path.join(dir, file));
  return id;
}

/**
 * Makes sure KEYS_DIR holds a refresh-token key, generating the first one if the folder is writable (in every
 * NODE_ENV: an upgraded deployment must keep starting). Under the folder's lock, so two instances starting at
 * once make one key, not two. A read-only folder without a key is a KeyError naming the command.
 */
export async function ensureMacKey(dir: string, now: Date): Promise<string | null> {
  if ((await readMacKeys(dir)).length > 0) return null;
  try {
    return await withLock(dir, async () => ((await readMacKeys(dir)).length > 0 ? null : generateMacKey(dir, now)));
  } catch (err) {
    if (isReadOnlyError(err)) {
      throw new KeyError(
        `no refresh-token key in KEYS_DIR ${path.resolve(dir)}, which is read-only: create one with ${MAC_KEY_COMMAND} where it is writable`,
      );
    }
    throw err;
  }
}

/** Adds a key that starts minting once every instance has read it. */
export function rotateMacKey(dir: string, now: Date): Promise<string> {
  return withLock(dir, () => generateMacKey(dir, now));
}

/** Deletes keys retired for longer than any token they made can live. Returns their ids. */
export function pruneMacKeys(dir: string, now: Date, policy: MacKeyPolicy): Promise<string[]> {
  return withLock(dir, async () => {
    const keys = await readMacKeys(dir);
    if (keys.length === 0) return [];
    const gone = macKeyStates(keys, now, policy).filter((s) => s.prunable);
    for (const s of gone) await fs.rm(path.join(dir, s.key.file), { force: true });
    return gone.map((s) => s.key.id);
  });
}

/** The refresh-token keys as this instance sees them; re-read with the signing keys. */
export class MacKeyRing {
  private keys: MacKey[] = [];
  private byId = new Map<string, MacKey>();

  private constructor(
    readonly dir: string,
    private readonly clock: Clock,
    private readonly policy: MacKeyPolicy,
  ) {}

  static async open(dir: string, clock: Clock, policy: MacKeyPolicy): Promise<MacKeyRing> {
    const ring = new MacKeyRing(dir, clock, policy);
    await ring.reload();
    return ring;
  }

  /** Re-reads KEYS_DIR; on error (or an empty folder) the previous keys stay in use. */
  async reload(): Promise<void> {
    const keys = await readMacKeys(this.dir);
    macKeyStates(keys, this.clock.now(), this.policy); // refuses an empty set
    this.keys = keys;
    this.byId = new Map(keys.map((k) => [k.id, k]));
  }

  /** The key new tokens are made with. */
  get minting(): MacKey {
    return macKeyStates(this.keys, this.clock.now(), this.policy).find((s) => s.state === 'active')!.key;
  }

  get statuses(): MacKeyStatus[] {
    return macKeyStates(this.keys, this.clock.now(), this.policy);
  }

  key(id: string): MacKey | undefined {
    return this.byId.get(id);
  }
}
