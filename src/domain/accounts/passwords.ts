// Password hashing with argon2id. Passwords follow NIST SP 800-63B: 8 to 256 characters,
// no composition rules, new ones screened against common passwords (password-policy.ts), Unicode normalised (NFKC) so the same password typed on two keyboards matches.
// NFKC has always been applied before hashing, so existing hashes are unaffected; the length is counted on
// the normalised form (what is hashed), in code points. Ill-formed UTF-16 (a lone surrogate) is refused:
// it would reach argon2 as U+FFFD, making different inputs one password.
// At most one hash per core runs at a time in a process (HASH_SLOTS): argon2 runs on libuv's thread pool (4
// threads by default), which also serves WebCrypto's signatures (jose), file reads and DNS. Four hashes at once on
// two cores go no faster than two, but they held every thread, so a refresh's signature waited behind a burst of
// logins; and each thread's malloc arena kept its own 19 MiB argon2 block once the burst was over.
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import pLimit from 'p-limit';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export interface Argon2Params {
  memoryCost: number; // KiB
  timeCost: number;
  parallelism: number;
}

/** OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane. */
export const OWASP_MIN_PARAMS: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

// In a /u pattern a valid pair is one code point, so \p{Cs} only matches a lone surrogate.
const LONE_SURROGATE = /\p{Cs}/u;

export function isAcceptablePassword(password: string): boolean {
  if (LONE_SURROGATE.test(password)) return false;
  // Count code points of what is hashed, not UTF-16 units: "8 characters" means what the user typed.
  const length = [...normalizePassword(password)].length;
  return length >= PASSWORD_MIN && length <= PASSWORD_MAX;
}

/** The thread pool's size as libuv reads it at start: UV_THREADPOOL_SIZE, else 4. */
function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 4;
}

/** How many hashes may run at once: one per core, never more than the thread pool has threads. */
export const HASH_SLOTS = Math.max(1, Math.min(availableParallelism(), threadPoolSize()));

// One queue per process, shared by every hasher: the thread pool and the cores are the process's.
const slots = pLimit(HASH_SLOTS);

/** Hashes running and waiting for a slot now (a gauge on /metrics). */
export function hashesInFlight(): { running: number; waiting: number } {
  return { running: slots.activeCount, waiting: slots.pendingCount };
}

export class PasswordHasher {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly params: Argon2Params = OWASP_MIN_PARAMS) {}

  hash(password: string): Promise<string> {
    const normalized = normalizePassword(password);
    return slots(() => argon2.hash(normalized, { type: argon2.argon2id, ...this.params }));
  }

  verify(hash: string, password: string): Promise<boolean> {
    if (LONE_SURROGATE.test(password)) password = ''; // never matches a hash made by hash(), at the same cost
    const normalized = normalizePassword(password);
    return slots(() => argon2.verify(hash, normalized)).catch(() => false);
  }

  /** Spends the same time as verify() when there is no user, so "no such user" can't be told apart by timing. */
  async verifyAgainstDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash('tessera-dummy-password-for-equal-timing');
    await this.verify(await this.dummyHash, password);
    return false;
  }

  /** Warms up the dummy hash at boot, so the first unknown-user login is not slower than later ones. */
  async warmUp(): Promise<void> {
    this.dummyHash ??= this.hash('tessera-dummy-password-for-equal-timing');
    await this.dummyHash;
  }

  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, { ...this.params });
  }
}
