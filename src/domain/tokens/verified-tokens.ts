// The access tokens this instance has verified, by their exact text, so that a token presented again (a client
// uses one for up to ACCESS_TOKEN_TTL_SECONDS, on every request) is not verified again. The signature check
// (WebCrypto, through jose) was a quarter of the CPU of `GET /auth/me`; a lookup here is a Map read.
//
// What a hit skips is only what cannot change for the same text: the signature (under the same public key
// object), the type, issuer, audience and the claims' shape. What depends on the time or on the key store is
// checked at every use: the key must still be published under the token's kid, as the same key and algorithm;
// nbf and the lifetime rule (with the key's current retirement limit) must hold; an entry lapses at the token's
// exp. A token failing any of these is simply not found, and the caller's full verification then refuses it
// with the reason a token never seen would get. The session's liveness is the caller's own read, hit or miss.
// Only tokens that passed every check are kept, at most MAX_ENTRIES (the oldest go first: ExpiringMap).
import type { JWTPayload } from 'jose';
import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import { lifetimeProblem } from '@tessera/verify/contract';
import { epochSeconds, type Clock } from '../clock.js';
import { ExpiringMap } from '../expiring-map.js';
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
  private readonly entries = new ExpiringMap<Entry>(MAX_ENTRIES);

  constructor(
    private readonly keys: KeyStore,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  /** The claims of a token verified before, while its key is published as it was and its dates hold; else undefined. */
  lookup(token: string): JWTPayload | undefined {
    const now = this.clock.now();
    const entry = this.entries.get(token, now.getTime());
    if (!entry) return undefined;
    const key = this.keys.verificationKey(entry.kid);
    const seconds = epochSeconds(now);
    const { payload } = entry;
    if (
      !key ||
      key.publicKey !== entry.publicKey ||
      key.alg !== entry.alg ||
      (payload.nbf !== undefined && payload.nbf > seconds) ||
      lifetimeProblem(
        payload,
        this.ttlSeconds,
        seconds,
        key.signedNoLaterThan ? epochSeconds(key.signedNoLaterThan) : undefined,
      )
    ) {
      this.entries.delete(token);
      return undefined;
    }
    return payload;
  }

  /**
   * Keeps a token that passed every check, with the key that verified it, until its exp. Its claims are frozen:
   * every request presenting the token gets the same object, which none may change.
   */
  remember(token: string, kid: string, key: VerificationKey, payload: JWTPayload): void {
    // Base64url leaves spare bits in a signature's last character, and jose accepts padding: one token has
    // dozens of spellings that verify. Only the one Tessera wrote is kept, so copies of a few tokens cannot
    // push every other token out; the others are verified in full each time, as before.
    const signature = token.slice(token.lastIndexOf('.') + 1);
    if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) return;
    for (const value of Object.values(payload)) if (typeof value === 'object' && value !== null) Object.freeze(value);
    Object.freeze(payload);
    const claims = payload as Entry['payload'];
    this.entries.set(token, { kid, alg: key.alg, publicKey: key.publicKey, payload: claims }, claims.exp * 1000);
  }
}
