// The pepper of API keys (src/domain/api-keys/): the HMAC-SHA256 key their stored hashes are made with, kept in
// KEYS_DIR beside the signing and refresh-token keys. Why a file and not the database: a dump of api_keys alone
// must not be enough to test guesses offline; the pepper lives where the other keys live, apart from the data,
// shared by every instance the same way.
//
// `api-key-pepper.key`: 32 random bytes (base64url text), mode 0600, made at boot when missing (under the
// folder's lock, so instances booting together make one). Replacing it invalidates every API key: that is
// the answer to a leaked pepper, not a rotation (a key's hash can't be recomputed without the key).
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isReadOnlyError, KeyError } from './key-files.js';
import { withLock } from './key-rotation.js';

const FILE = 'api-key-pepper.key';
const BYTES = 32;

async function readPepper(dir: string): Promise<Buffer | null> {
  const text = await fs.readFile(path.join(dir, FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new KeyError(`cannot read ${FILE} in KEYS_DIR ${path.resolve(dir)}: ${err.code}`);
  });
  if (text === null) return null;
  const pepper = Buffer.from(text.trim(), 'base64url');
  if (pepper.length !== BYTES) throw new KeyError(`${FILE} must hold ${BYTES} bytes in base64url`);
  return pepper;
}

async function writePepper(dir: string): Promise<void> {
  const tmp = path.join(dir, `.${FILE}.${randomBytes(4).toString('hex')}`);
  await fs.writeFile(tmp, `${randomBytes(BYTES).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  await fs.rename(tmp, path.join(dir, FILE));
}

/**
 * The pepper, made first if KEYS_DIR has none (in every NODE_ENV, as the refresh-token key). Returns it and
 * whether it was made now. A read-only folder without one is a KeyError.
 */
export async function ensureApiKeyPepper(dir: string): Promise<{ pepper: Buffer; made: boolean }> {
  const found = await readPepper(dir);
  if (found) return { pepper: found, made: false };
  try {
    return await withLock(dir, async () => {
      const again = await readPepper(dir);
      if (again) return { pepper: again, made: false };
      await writePepper(dir);
      return { pepper: (await readPepper(dir))!, made: true };
    });
  } catch (err) {
    if (isReadOnlyError(err))
      throw new KeyError(
        `no ${FILE} in KEYS_DIR ${path.resolve(dir)}, which is read-only: start once where it is writable`,
      );
    throw err;
  }
}
