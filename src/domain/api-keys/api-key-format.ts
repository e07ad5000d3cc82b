// What an API key looks like, checked without any I/O. The design follows GitHub's `ghp_` tokens: a fixed
// prefix secret scanners can match, and a checksum so a mistyped or truncated key is refused before anything
// is looked up (a flood of garbage costs no database work).
//
//   tsk_<id: 12 base62>_<secret: 43 base62 = 32 random bytes, 256 bits><checksum: 6 base62>
//
// The id is public: it names the key in lists, logs and audit rows, and is the primary key the one lookup
// reads. The checksum is CRC32 of everything before it (prefix, id, underscore, secret), in base62. It proves
// nothing about authenticity (anyone can compute it): the secret's keyed hash (api-keys.ts) does that.
// docs/oauth-apps.md ("Server-to-server: API keys") publishes API_KEY_PATTERN for secret scanners.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const API_KEY_PREFIX = 'tsk_';
const ID_LENGTH = 12;
const SECRET_BYTES = 32;
/** 62^43 > 2^256: 32 bytes always fit in 43 base62 digits. */
const SECRET_LENGTH = 43;
/** 62^6 > 2^32. */
const CHECKSUM_LENGTH = 6;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The whole key, for secret scanners (docs/oauth-apps.md publishes it). */
export const API_KEY_PATTERN = /^tsk_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/;

/** A key that passed the format and checksum check: its id, and the whole text for the keyed hash. */
export interface ParsedApiKey {
  id: string;
  key: string;
}

function base62(value: bigint, length: number): string {
  let out = '';
  let v = value;
  while (v > 0n) {
    out = BASE62[Number(v % 62n)]! + out;
    v /= 62n;
  }
  return out.padStart(length, '0');
}

const checksum = (body: string) => base62(BigInt(crc32(body)), CHECKSUM_LENGTH);

/** A new key id: 64 random bits in 12 base62 characters (the primary key refuses the rare collision). */
export function newApiKeyId(): string {
  return base62(BigInt(`0x${randomBytes(8).toString('hex')}`), ID_LENGTH);
}

/** A new key with the given id: 256 random bits and its checksum. */
export function newApiKey(id: string): string {
  const secret = base62(BigInt(`0x${randomBytes(SECRET_BYTES).toString('hex')}`), SECRET_LENGTH);
  const body = `${API_KEY_PREFIX}${id}_${secret}`;
  return body + checksum(body);
}

/** The key's id if its shape and checksum are right; null otherwise (nothing else is looked at). */
export function parseApiKey(text: string): ParsedApiKey | null {
  if (!API_KEY_PATTERN.test(text)) return null;
  const body = text.slice(0, -CHECKSUM_LENGTH);
  if (checksum(body) !== text.slice(-CHECKSUM_LENGTH)) return null;
  return { id: text.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + ID_LENGTH), key: text };
}

/** Whether a presented token claims to be an API key (its prefix), whatever else is wrong with it. */
export const looksLikeApiKey = (text: string): boolean => text.startsWith(API_KEY_PREFIX);
