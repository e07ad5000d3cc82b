// Password hashing with argon2id. Passwords follow NIST SP 800-63B: 8 to 256 characters,
// no composition rules, new ones screened against common passwords (password-policy.ts), Unicode normalised (NFKC) so the same password typed on two keyboards matches.
// NFKC has always been applied before hashing, so existing hashes are unaffected; the length is counted on
// the normalised form (what is hashed), in code points. Ill-formed UTF-16 (a lone surrogate) is refused:
// it would reach argon2 as U+FFFD, making different inputs one password.
// Every hash and verification waits for a slot of the process's queue (hash-slots.ts): its share of the cores.
import argon2 from 'argon2';
import { inHashSlot } from './hash-slots.js';

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

export class PasswordHasher {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly params: Argon2Params = OWASP_MIN_PARAMS) {}

  hash(password: string): Promise<string> {
    const normalized = normalizePassword(password);
    return inHashSlot(() => argon2.hash(normalized, { type: argon2.argon2id, ...this.params }));
  }

  verify(hash: string, password: string): Promise<boolean> {
    if (LONE_SURROGATE.test(password)) password = ''; // never matches a hash made by hash(), at the same cost
    const normalized = normalizePassword(password);
    return inHashSlot(() => argon2.verify(hash, normalized)).catch(() => false);
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
