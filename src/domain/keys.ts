// Signing keys: PEM files in KEYS_DIR named `<kid>.pem` (PKCS#8 private keys).
// Every key in the folder is published in the JWKS; the newest signs. A key moved into
// KEYS_DIR/retired/ is no longer published (do that once every token it signed has expired).
// Generated kids start with their creation time (UTC), which is what "newest" means.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from 'jose';

export const SIGNING_ALG = 'RS256';
const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const KID_TIME = /^(\d{8})T(\d{6})Z/;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: KeyObject;
  createdAt: Date;
}

export interface PublicJwk extends JWK {
  kty: string;
  kid: string;
  alg: typeof SIGNING_ALG;
  use: 'sig';
}

export class KeyError extends Error {
  override name = 'KeyError';
}

export class KeyStore {
  private readonly byKid: Map<string, SigningKey>;
  readonly signing: SigningKey;
  readonly jwks: { keys: PublicJwk[] };

  private constructor(keys: SigningKey[], jwks: PublicJwk[]) {
    this.byKid = new Map(keys.map((k) => [k.kid, k]));
    this.signing = keys[0]!;
    this.jwks = { keys: jwks };
  }

  static async load(dir: string, opts: { generateIfEmpty: boolean; now?: Date }): Promise<KeyStore> {
    let files = await listKeyFiles(dir);
    if (files.length === 0) {
      if (!opts.generateIfEmpty) {
        throw new KeyError(`no signing key in ${path.resolve(dir)}: create one with \`npm run keys -- generate\` (KEYS_DIR=${dir})`);
      }
      await generateKeyFile(dir, opts.now ?? new Date());
      files = await listKeyFiles(dir);
    }
    const keys = await Promise.all(files.map((f) => readKey(dir, f)));
    keys.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.kid.localeCompare(a.kid));
    const jwks = await Promise.all(keys.map((k) => toPublicJwk(k)));
    return new KeyStore(keys, jwks);
  }

  /** The public key for a kid named in a token header, or undefined when it isn't one of ours. */
  publicKey(kid: unknown): KeyObject | undefined {
    return typeof kid === 'string' ? this.byKid.get(kid)?.publicKey : undefined;
  }
}

async function listKeyFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new KeyError(`cannot read KEYS_DIR ${path.resolve(dir)}: ${err.code}`);
  });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.pem')).map((e) => e.name);
}

async function readKey(dir: string, file: string): Promise<SigningKey> {
  const kid = file.slice(0, -'.pem'.length);
  if (!KID_PATTERN.test(kid)) throw new KeyError(`key file ${file}: the name (its kid) must be 1-64 of A-Z a-z 0-9 _ -`);
  const full = path.join(dir, file);
  const pem = await fs.readFile(full, 'utf8');
  let privateKey: CryptoKey;
  try {
    privateKey = (await importPKCS8(pem, SIGNING_ALG)) as CryptoKey;
  } catch {
    throw new KeyError(`key file ${file} is not a PKCS#8 RSA private key in PEM form`);
  }
  const publicKey = createPublicKey(pem);
  if ((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new KeyError(`key file ${file}: RSA keys must be at least 2048 bits`);
  return { kid, privateKey, publicKey, createdAt: await createdAt(kid, full) };
}

/** The time in a generated kid, else the file's modification time. */
async function createdAt(kid: string, file: string): Promise<Date> {
  const m = KID_TIME.exec(kid);
  if (m) {
    const [d, t] = [m[1]!, m[2]!];
    return new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4)}Z`);
  }
  return (await fs.stat(file)).mtime;
}

async function toPublicJwk(key: SigningKey): Promise<PublicJwk> {
  const { kty, n, e } = await exportJWK(key.publicKey);
  return { kty: kty!, n, e, kid: key.kid, alg: SIGNING_ALG, use: 'sig' };
}

/** Writes a new 2048-bit RSA key as `<kid>.pem` (mode 0600) and returns its kid. */
export async function generateKeyFile(dir: string, now: Date): Promise<string> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: 2048, extractable: true });
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const kid = `${stamp}-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // 'wx': never overwrite a key that is already there.
  await fs.writeFile(path.join(dir, `${kid}.pem`), await exportPKCS8(privateKey), { mode: 0o600, flag: 'wx' });
  return kid;
}
