// A shared, pre-generated signing key set for test apps: RSA key generation costs ~150 ms of CPU per key,
// and every app boots with two (active and next). The fixture holds only key material: each app still gets
// its own kids and schedules, written exactly as src/domain/keys/key-rotation.ts's ensureKeys would write them at
// `now`, so the app finds a normal, complete key set. The refresh-token MAC key is made by the domain code
// itself (32 random bytes, cheap). Tests about key generation pass their own (empty) keysDir.
import { randomBytes } from 'node:crypto';
import { chmod, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readKeyFile, writeSchedule, type KeyFile } from '../src/domain/keys/key-files.js';
import { ensureMacKey } from '../src/domain/keys/refresh-keys.js';

const FIXTURES = new URL('./fixtures/keys/', import.meta.url);

const kidAt = (now: Date) =>
  `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;

/**
 * The fixture keys, parsed once and held for the whole process: the service keeps parsed keys only while
 * something holds them (src/domain/keys/key-files.ts), and each test app is closed after its test.
 */
let held: Promise<KeyFile[]> | undefined;

/** Fills an empty KEYS_DIR with an active RS256 key, a next key and a refresh-token key, all dated `now`. */
export async function seedKeys(dir: string, now: Date): Promise<void> {
  held ??= Promise.all(['active', 'next'].map((name) => readKeyFile(fileURLToPath(FIXTURES), name)));
  await held;
  for (const [name, activatesAt] of [
    ['active', now],
    ['next', null],
  ] as const) {
    const kid = kidAt(now);
    // The schedule first, as generateKeyFile does: a .pem never exists without it.
    await writeSchedule(dir, kid, { createdAt: now, activatesAt, retiredAt: null });
    const pem = path.join(dir, `${kid}.pem`);
    await copyFile(new URL(`${name}.pem`, FIXTURES), pem);
    await chmod(pem, 0o600);
  }
  await ensureMacKey(dir, now);
}
