// Refresh tokens, version 2: a token names its session and the session's refresh counter, and carries a MAC.
//
//   base64url( 0x02 | key id (4 bytes) | session id (16 bytes) | counter (8 bytes, big-endian) | HMAC-SHA256 (32 bytes) )
//
// 61 bytes, 82 characters. The MAC is over everything before it, with a key from KEYS_DIR (refresh-keys.ts),
// so the database (which holds session ids and counters) cannot mint a token. The token for (session,
// counter) is a pure function of them and the minting key: a grace replay hands back the very token the
// winner got, so once the window closes a session has exactly one live token by construction. Nothing about
// a token is stored; the session row's counter says which one is live.
//
// Legacy tokens (43 characters, 256 random bits, from before v2) are told apart by their length, and refused
// with a message of their own (session-lifecycle.ts; docs/decisions/0007-legacy-refresh-tokens-retired.md).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MacKeyRing } from '../keys/refresh-keys.js';

const VERSION = 0x02;
const BODY_BYTES = 1 + 4 + 16 + 8;
const TAG_BYTES = 32;
const SHAPE = /^[A-Za-z0-9_-]{82}$/;
const LEGACY_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface TokenClaims {
  sessionId: string;
  counter: bigint;
}

export const isLegacyToken = (token: string) => LEGACY_SHAPE.test(token);

const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');
function uuidOf(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const tagOf = (secret: Buffer, body: Buffer) => createHmac('sha256', secret).update(body).digest();

export class RefreshTokens {
  constructor(private readonly keys: MacKeyRing) {}

  /** The token for this session and counter, made with the key that mints now. */
  mint(sessionId: string, counter: bigint): string {
    const key = this.keys.minting;
    const body = Buffer.alloc(BODY_BYTES);
    body[0] = VERSION;
    body.write(key.id, 1, 'hex');
    uuidBytes(sessionId).copy(body, 5);
    body.writeBigUInt64BE(counter, 21);
    return Buffer.concat([body, tagOf(key.secret, body)]).toString('base64url');
  }

  /** The session and counter a token names, or null unless it is a well-formed v2 token with a valid MAC. */
  verify(token: string): TokenClaims | null {
    if (!SHAPE.test(token)) return null;
    const raw = Buffer.from(token, 'base64url');
    // One spelling per token (base64url's last character has spare bits).
    if (raw.length !== BODY_BYTES + TAG_BYTES || raw[0] !== VERSION || raw.toString('base64url') !== token) return null;
    const body = raw.subarray(0, BODY_BYTES);
    const key = this.keys.key(body.subarray(1, 5).toString('hex'));
    if (!key) return null;
    if (!timingSafeEqual(tagOf(key.secret, body), raw.subarray(BODY_BYTES))) return null;
    return { sessionId: uuidOf(body.subarray(5, 21)), counter: body.readBigUInt64BE(21) };
  }
}
