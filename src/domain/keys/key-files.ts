// Signing keys on disk, in KEYS_DIR: `<kid>.pem` (PKCS#8 private key, mode 0600) and `<kid>.json`
// (its schedule: when it was made, when it starts signing, when it was retired). A .pem without a
// .json is "unscheduled": in a folder where no key has a schedule (keys from before schedules existed)
// it counts as active since it was created; next to scheduled keys it is a next key waiting for
// `rotate`, so a key copied in by hand never starts signing before verifiers have seen it.
// The algorithm follows from the key: RSA (2048+ bits) → RS256, EC P-256 → ES256, Ed25519 → EdDSA.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { exportPKCS8, generateKeyPair, importPKCS8 } from 'jose';
import type { TesseraAlgorithm } from '@tessera/verify/contract';

/** The token contract's algorithms: a key can only sign what verifiers accept. */
export type SigningAlg = TesseraAlgorithm;

const READ_ONLY = new Set(['EACCES', 'EROFS', 'EPERM']);

/** Whether a filesystem error says KEYS_DIR can't be written (a mounted secret): fine when it holds keys. */
export function isReadOnlyError(err: unknown): boolean {
  return READ_ONLY.has((err as NodeJS.ErrnoException | null)?.code ?? '');
}

const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const KID_TIME = /^(\d{8})T(\d{6})Z/;

export interface KeySchedule {
  createdAt: Date;
  /** No `<kid>.json` on disk: a key from before schedules, or copied in by hand. */
  unscheduled?: boolean;
  /** When it starts signing; null = a next key waiting for `rotate`. */
  activatesAt: Date | null;
  /** Set by `retire`: stops signing then, stays published until its tokens have expired. */
  retiredAt: Date | null;
}

export interface KeyFile {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  publicKey: KeyObject;
  schedule: KeySchedule;
}

export class KeyError extends Error {
  override name = 'KeyError';
}

/** How to make the first keys, from a checkout (tsx) and in the image (compiled, no dev dependencies). */
export const GENERATE_KEYS_HINT =
  'create them with `npm run keys -- generate` (from a checkout) or `node dist/scripts/keys.js generate` (in the container image)';

export async function listKids(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new KeyError(`cannot read KEYS_DIR ${path.resolve(dir)}: ${err.code}`);
  });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.pem'))
    .map((e) => e.name.slice(0, -'.pem'.length))
    .sort();
}

function algOf(publicKey: KeyObject, file: string): SigningAlg {
  const type = publicKey.asymmetricKeyType;
  if (type === 'rsa') {
    if ((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
      throw new KeyError(`key file ${file}: RSA keys must be at least 2048 bits`);
    return 'RS256';
  }
  if (type === 'ec' && publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  if (type === 'ed25519') return 'EdDSA';
  throw new KeyError(`key file ${file}: only RSA (RS256), EC P-256 (ES256) and Ed25519 (EdDSA) keys can sign`);
}

type ParsedKey = Pick<KeyFile, 'alg' | 'privateKey' | 'publicKey'>;

/**
 * Keys parsed already, while something in the process still uses them. Parsing an RSA key is about a millisecond
 * of CPU, twice (Node's KeyObject for the public half and the algorithm, WebCrypto's for signing), and a boot
 * reads each key twice (ensureKeys, then the key store); a process that builds several apps (the tests build
 * hundreds, on the same fixture keys) reads the same keys again each time. The text is the whole input of the
 * parse, so the same text always gives the same key; parsed keys are immutable.
 *
 * Kept by the SHA-256 of the text (never the text itself), and weakly: an entry lives as long as the parsed public
 * key is held elsewhere (a key store, a test's app), so a key removed from KEYS_DIR and from the key store leaves
 * this cache with it, at the next garbage collection.
 */
const parsed = new Map<string, WeakRef<KeyObject>>();
const parsedBy = new WeakMap<KeyObject, ParsedKey>();
const forget = new FinalizationRegistry<string>((digest) => {
  if (parsed.get(digest)?.deref() === undefined) parsed.delete(digest);
});
/** Parses under way, so readers of the same text at the same instant share one. */
const parsing = new Map<string, Promise<ParsedKey>>();

function parsedKey(pem: string, file: string): Promise<ParsedKey> {
  const digest = createHash('sha256').update(pem).digest('base64url');
  const publicKey = parsed.get(digest)?.deref();
  const known = publicKey && parsedBy.get(publicKey);
  if (known) return Promise.resolve(known);
  const pending = parsing.get(digest);
  // A parse that fails is not shared past its own file: another file's error names that file.
  if (pending !== undefined) return pending.catch(() => parseKey(pem, file));
  const parse = parseKey(pem, file).then((key) => {
    parsed.set(digest, new WeakRef(key.publicKey));
    parsedBy.set(key.publicKey, key);
    forget.register(key.publicKey, digest);
    return key;
  });
  parsing.set(digest, parse);
  const done = () => void parsing.delete(digest);
  parse.then(done, done);
  return parse;
}

async function parseKey(pem: string, file: string): Promise<ParsedKey> {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(pem);
  } catch {
    throw new KeyError(`key file ${file} is not a PKCS#8 private key in PEM form`);
  }
  const alg = algOf(publicKey, file);
  let privateKey: CryptoKey;
  try {
    privateKey = (await importPKCS8(pem, alg)) as CryptoKey;
  } catch {
    throw new KeyError(`key file ${file} is not a PKCS#8 private key in PEM form`);
  }
  return { alg, privateKey, publicKey };
}

/** Reads one key and its schedule; cached keys (same kid) are reused and only their schedule re-read. */
export async function readKeyFile(dir: string, kid: string, cached?: KeyFile): Promise<KeyFile> {
  const file = `${kid}.pem`;
  if (!KID_PATTERN.test(kid))
    throw new KeyError(`key file ${file}: the name (its kid) must be 1-64 of A-Z a-z 0-9 _ -`);
  const full = path.join(dir, file);
  let key = cached;
  if (!key) {
    const pem = await fs.readFile(full, 'utf8');
    key = {
      kid,
      ...(await parsedKey(pem, file)),
      schedule: { createdAt: new Date(0), activatesAt: null, retiredAt: null },
    };
  }
  return { ...key, schedule: await readSchedule(dir, kid, full) };
}

async function readSchedule(dir: string, kid: string, pemFile: string): Promise<KeySchedule> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, `${kid}.json`), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const createdAt = await createdFromName(kid, pemFile);
    return { createdAt, activatesAt: createdAt, retiredAt: null, unscheduled: true };
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new KeyError(`key schedule ${kid}.json is not valid JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new KeyError(`key schedule ${kid}.json must be a JSON object`);
  const date = (name: string, required: boolean): Date | null => {
    const v = raw[name];
    if (v === null || (v === undefined && !required)) return null;
    const d = typeof v === 'string' ? new Date(v) : new Date(NaN);
    if (Number.isNaN(d.getTime()))
      throw new KeyError(`key schedule ${kid}.json: ${name} must be an ISO date${required ? '' : ' or null'}`);
    return d;
  };
  return {
    createdAt: date('created_at', true)!,
    activatesAt: date('activates_at', false),
    retiredAt: date('retired_at', false),
  };
}

/** The time in a generated kid, else the file's modification time. */
async function createdFromName(kid: string, file: string): Promise<Date> {
  const m = KID_TIME.exec(kid);
  if (m) {
    const [d, t] = [m[1]!, m[2]!];
    return new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4)}Z`);
  }
  return (await fs.stat(file)).mtime;
}

/** Writes a schedule atomically (temporary file, then rename): readers never see half of it. */
export async function writeSchedule(dir: string, kid: string, schedule: KeySchedule): Promise<void> {
  // (unscheduled is a reading, not part of the file)
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  const body = JSON.stringify(
    {
      created_at: iso(schedule.createdAt),
      activates_at: iso(schedule.activatesAt),
      retired_at: iso(schedule.retiredAt),
    },
    null,
    2,
  );
  const tmp = path.join(dir, `.${kid}.json.${randomBytes(4).toString('hex')}`);
  await fs.writeFile(tmp, `${body}\n`, { mode: 0o600 });
  await fs.rename(tmp, path.join(dir, `${kid}.json`));
}

/** Writes a new key (`<kid>.pem`, mode 0600, never overwriting) with its schedule; returns its kid. */
export async function generateKeyFile(
  dir: string,
  now: Date,
  opts: { alg?: SigningAlg; activatesAt?: Date | null } = {},
): Promise<string> {
  const alg = opts.alg ?? 'RS256';
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const kid = `${stamp}-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // The schedule first: a .pem never exists without it, so no reader mistakes a next key for an active one.
  await writeSchedule(dir, kid, {
    createdAt: now,
    activatesAt: opts.activatesAt === undefined ? now : opts.activatesAt,
    retiredAt: null,
  });
  await fs.writeFile(path.join(dir, `${kid}.pem`), await exportPKCS8(privateKey), { mode: 0o600, flag: 'wx' });
  return kid;
}

/** Deletes a key's files. */
export async function removeKeyFiles(dir: string, kid: string): Promise<void> {
  await fs.rm(path.join(dir, `${kid}.pem`), { force: true });
  await fs.rm(path.join(dir, `${kid}.json`), { force: true });
}
