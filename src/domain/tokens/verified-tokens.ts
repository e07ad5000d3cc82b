// The access tokens this instance has verified, by their exact text, so that a token presented again (a client
// uses one for up to ACCESS_TOKEN_TTL_SECONDS, on every request) is not verified again. The signature check
// (WebCrypto, through jose) was a quarter of the CPU of `GET /auth/me`; a lookup here is a Map read.
//
// What a hit skips is only what cannot change for the same text: the signature (under the same public key
// object), the type, issuer, audience and the claims' shape. What depends on the time or on the key store is
// checked at every use, as on a miss: the key must still be published under the token's kid, as the same key
// and algorithm; exp and nbf against the clock; the lifetime rule with the key's current retirement limit. The
// session's liveness is the caller's own read, hit or miss. Only tokens that passed every check are kept, at
// most MAX_ENTRIES (the oldest go first), and an entry whose token expired is dropped when it is next looked up.
import type { JWTPayload } from 'jose';
import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import { lifetimeProblem } from '@tessera/verify/contract';
import { epochSeconds, type Clock } from '../clock.js';
import type { KeyStore, VerificationKey } from '../keys/keys.js';

/** About 1.5 KB each (the token and its claims): a few megabytes at most. */
const MAX_ENTRIES = 2048;

interface Entry {
  kid: string;
  alg: string;
  publicKey: KeyObject;
  payload: JWTPayload & { iat: number; exp: number };
}

export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly keys: KeyStore,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * The claims of a token verified before, if its key is still published as it was and its dates still hold;
   * else undefined (the caller verifies it in full). Throws the caller's error for an expired token.
   */
  lookup(token: string, expired: (reason: string) => Error): JWTPayload | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    const key = this.keys.verificationKey(entry.kid);
    if (!key || key.publicKey !== entry.publicKey || key.alg !== entry.alg) {
      this.entries.delete(token);
      return undefined;
    }
    const now = epochSeconds(this.clock.now());
    const { payload } = entry;
    // jose's own rules, without tolerance, as verifySigned asks them.
    if (payload.exp <= now) {
      this.entries.delete(token);
      throw expired('ERR_JWT_EXPIRED: "exp" claim timestamp check failed');
    }
    if (payload.nbf !== undefined && payload.nbf > now) return undefined;
    const signedUntil = key.signedNoLaterThan ? epochSeconds(key.signedNoLaterThan) : undefined;
    const problem = lifetimeProblem(payload, this.ttlSeconds, now, signedUntil);
    if (problem) throw expired(problem);
    return payload;
  }

  /**
   * Keeps a token that passed every check, with the key that verified it. Its claims are frozen: every request
   * presenting the token gets the same object, which none may change.
   */
  remember(token: string, kid: string, key: VerificationKey, payload: JWTPayload): void {
    // Base64url leaves spare bits in a signature's last character, and jose accepts padding: one token has
    // dozens of spellings that verify. Only the one Tessera wrote is kept, so copies of a few tokens cannot
    // push every other token out; the others are verified in full each time, as before.
    const signature = token.slice(token.lastIndexOf('.') + 1);
    if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) return;
    for (const value of Object.values(payload)) if (typeof value === 'object' && value !== null) Object.freeze(value);
    Object.freeze(payload);
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, {
      kid,
      alg: key.alg,
      publicKey: key.publicKey,
      payload: payload as Entry['payload'],
    });
  }
}
