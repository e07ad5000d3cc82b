// Second-factor secrets (TOTP seeds) are sealed at rest with AES-256-GCM under a key kept in KEYS_DIR, beside the
// signing and refresh-token keys: a database dump alone does not let anyone compute a user's codes.
//
// `mfa-<8 hex>.key`: 32 random bytes (base64url text), mode 0600, made at boot when the folder has none (under
// the folder's lock, like the refresh-token key). A sealed value names its key id ("v1.<kid>.<iv>.<data>.<tag>")
// and the factor it belongs to is the associated data, so a sealed secret copied onto another factor row does
// not open. Every key in the folder opens what it sealed; the first in name order seals.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isReadOnlyError, KeyError } from '../keys/key-files.js';
import { withLock } from '../keys/key-rotation.js';

const FILE = /^mfa-([0-9a-f]{8})\.key$/;
const KEY_BYTES = 32;
const IV_BYTES = 12;

async function readKeys(dir: string): Promise<Map<string, Buffer>> {
  const entries = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw new KeyError(`cannot read KEYS_DIR ${path.resolve(dir)}: ${err.code}`);
  });
  const keys = new Map<string, Buffer>();
  for (const file of entries.sort()) {
    const m = FILE.exec(file);
    if (!m) continue;
    const key = Buffer.from((await fs.readFile(path.join(dir, file), 'utf8')).trim(), 'base64url');
    if (key.length !== KEY_BYTES) throw new KeyError(`second-factor key file ${file} must hold ${KEY_BYTES} bytes`);
    keys.set(m[1]!, key);
  }
  return keys;
}

/** Makes sure KEYS_DIR holds a second-factor key; returns the id of one it made, or null. */
async function ensureKey(dir: string): Promise<string | null> {
  if ((await readKeys(dir)).size > 0) return null;
  try {
    return await withLock(dir, async () => {
      if ((await readKeys(dir)).size > 0) return null;
      const id = randomBytes(4).toString('hex');
      const file = `mfa-${id}.key`;
      const tmp = path.join(dir, `.${file}.${randomBytes(4).toString('hex')}`);
      await fs.writeFile(tmp, `${randomBytes(KEY_BYTES).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
      await fs.rename(tmp, path.join(dir, file));
      return id;
    });
  } catch (err) {
    if (isReadOnlyError(err))
      throw new KeyError(`no second-factor key (mfa-<8 hex>.key) in KEYS_DIR ${path.resolve(dir)}, which is read-only`);
    throw err;
  }
}

export class SecretBox {
  private constructor(private readonly keys: Map<string, Buffer>) {}

  /** Opens KEYS_DIR's second-factor keys, making the first when there is none. */
  static async open(dir: string): Promise<{ box: SecretBox; made: string | null }> {
    const made = await ensureKey(dir);
    return { box: new SecretBox(await readKeys(dir)), made };
  }

  seal(plain: string, boundTo: string): string {
    const [kid, key] = this.keys.entries().next().value as [string, Buffer];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      'v1',
      kid,
      iv.toString('base64url'),
      data.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.');
  }

  open(sealed: string, boundTo: string): string {
    const [version, kid, iv, data, tag] = sealed.split('.');
    const key = kid ? this.keys.get(kid) : undefined;
    if (version !== 'v1' || !key || !iv || data === undefined || !tag)
      throw new KeyError(`a second-factor secret names key ${kid ?? '?'}, which KEYS_DIR does not hold`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}
