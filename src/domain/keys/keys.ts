// The signing key set, as every instance sees it at a given moment.
//
// Each key is in one of three states, computed from its schedule (src/domain/keys/key-files.ts) and the clock:
//   next     published, not signing yet (no activation time, or one in the future);
//   active   signing: of the keys whose activation time has passed and that aren't retired, the latest;
//   retired  superseded by a later key or retired by hand: no longer signs, still published until every
//            token it signed has expired (ACCESS_TOKEN_TTL_SECONDS + clock skew + KEYS_RELOAD_SECONDS, the
//            longest another instance may go on signing with it), then dropped from the JWKS.
// Because the state is a function of files and time, every instance that shares KEYS_DIR (re-read every
// KEYS_RELOAD_SECONDS) agrees on the active key, and they all switch at the same instant.
import { exportJWK, type JWK } from 'jose';
import type { KeyObject } from 'node:crypto';
import { epochSeconds, type Clock } from '../clock.js';
import { GENERATE_KEYS_HINT, KeyError, listKids, readKeyFile, type KeyFile, type SigningAlg } from './key-files.js';
import { CLOCK_SKEW_SECONDS, SIGNED_UNTIL_MEMBER } from '@tessera/verify/contract';

export { KeyError, generateKeyFile } from './key-files.js';

type KeyState = 'next' | 'active' | 'retired';

export interface KeyStatus {
  key: KeyFile;
  state: KeyState;
  /** For retired keys: when it stopped signing. */
  retiredAt: Date | null;
  /** Whether it is in the JWKS now. */
  published: boolean;
}

export interface PublicJwk extends JWK {
  kty: string;
  kid: string;
  alg: SigningAlg;
  use: 'sig';
  /** Retired keys only: no genuine token was signed with it after this NumericDate (@tessera/verify/contract). */
  [SIGNED_UNTIL_MEMBER]?: number;
}

export interface PublicationPolicy {
  accessTokenTtlSeconds: number;
  /** Instances may sign with a key for up to this long after it stopped (until they re-read KEYS_DIR). */
  reloadSeconds: number;
}

/** Applies the rule for unscheduled keys (see key-files.ts): legacy-active alone, next beside scheduled keys. */
function effective(keys: KeyFile[]): KeyFile[] {
  if (keys.every((k) => k.schedule.unscheduled)) return keys;
  return keys.map((k) => (k.schedule.unscheduled ? { ...k, schedule: { ...k.schedule, activatesAt: null } } : k));
}

/**
 * The state of every key at `now`. If no key has started (the active key's files were deleted, say),
 * the next key that was made first signs at once: that is what deleting a compromised active key means.
 * Throws KeyError only when there is no key that could sign at all.
 */
export function keyStates(input: KeyFile[], now: Date, policy: PublicationPolicy): KeyStatus[] {
  const keys = effective(input);
  const t = now.getTime();
  const started = (k: KeyFile) => k.schedule.activatesAt !== null && k.schedule.activatesAt.getTime() <= t;
  const retiredByHand = (k: KeyFile) => k.schedule.retiredAt !== null && k.schedule.retiredAt.getTime() <= t;
  // Latest activation first; on a tie the key made later wins (a later `rotate`), then the kid decides.
  const byActivation = keys
    .filter(started)
    .sort(
      (a, b) =>
        b.schedule.activatesAt!.getTime() - a.schedule.activatesAt!.getTime() ||
        b.schedule.createdAt.getTime() - a.schedule.createdAt.getTime() ||
        b.kid.localeCompare(a.kid),
    );
  const waiting = keys
    .filter((k) => !started(k) && !retiredByHand(k))
    .sort((a, b) => a.schedule.createdAt.getTime() - b.schedule.createdAt.getTime() || a.kid.localeCompare(b.kid));
  const active = byActivation.find((k) => !retiredByHand(k)) ?? waiting[0];
  if (!active) throw new KeyError('no key can sign: every key in KEYS_DIR is retired (`npm run keys -- list`)');
  const publishFor = (policy.accessTokenTtlSeconds + CLOCK_SKEW_SECONDS + policy.reloadSeconds) * 1000;

  return keys.map((key) => {
    if (key === active) return { key, state: 'active', retiredAt: null, published: true };
    const handRetired = retiredByHand(key) ? key.schedule.retiredAt!.getTime() : Infinity;
    // Superseded: the keys ahead of this one in activation order took over when the first of them started.
    const rank = byActivation.indexOf(key);
    const successor =
      rank > 0 ? Math.min(...byActivation.slice(0, rank).map((k) => k.schedule.activatesAt!.getTime())) : Infinity;
    const end = Math.min(handRetired, successor);
    if (end === Infinity) return { key, state: 'next', retiredAt: null, published: true };
    return { key, state: 'retired', retiredAt: new Date(end), published: t < end + publishFor };
  });
}

export interface VerificationKey {
  alg: SigningAlg;
  publicKey: KeyObject;
  /** For a retired key: no genuine token signed by it was issued after this. */
  signedNoLaterThan: Date | null;
}

interface Snapshot {
  statuses: KeyStatus[];
  active: KeyFile;
  published: Map<string, VerificationKey>;
  jwks: { keys: PublicJwk[] };
}

export interface KeyStoreOptions extends PublicationPolicy {
  clock: Clock;
}

export class KeyStore {
  private files: KeyFile[];
  private snapshot: { at: number; value: Snapshot } | undefined;
  private readonly jwkCache = new Map<string, PublicJwk>();

  private constructor(
    readonly dir: string,
    files: KeyFile[],
    private readonly opts: KeyStoreOptions,
  ) {
    this.files = files;
  }

  /** Reads KEYS_DIR. Throws KeyError when it holds no key, a broken key, or no key that can sign. */
  static async open(dir: string, opts: KeyStoreOptions): Promise<KeyStore> {
    const store = new KeyStore(dir, [], opts);
    await store.reload();
    return store;
  }

  /** Re-reads KEYS_DIR (new keys, changed schedules). On error the previous set stays in use. */
  async reload(): Promise<void> {
    const kids = await listKids(this.dir);
    if (kids.length === 0) throw new KeyError(`no signing key in KEYS_DIR ${this.dir}: ${GENERATE_KEYS_HINT}`);
    const cached = new Map(this.files.map((f) => [f.kid, f]));
    const files = await Promise.all(kids.map((kid) => readKeyFile(this.dir, kid, cached.get(kid))));
    for (const f of files) if (!this.jwkCache.has(f.kid)) this.jwkCache.set(f.kid, await toPublicJwk(f));
    keyStates(files, this.opts.clock.now(), this.opts); // refuse a set that can't sign
    this.files = files;
    this.snapshot = undefined;
  }

  /** States now; recomputed at most once a second, so a scheduled activation needs no reload. */
  private current(): Snapshot {
    const now = this.opts.clock.now();
    const at = epochSeconds(now);
    if (this.snapshot?.at === at) return this.snapshot.value;
    const statuses = keyStates(this.files, now, this.opts);
    // Order: active first, then next keys, then retired ones (newest first).
    const rank = (s: KeyStatus) => (s.state === 'active' ? 0 : s.state === 'next' ? 1 : 2);
    const ordered = statuses
      .filter((s) => s.published)
      .sort((a, b) => rank(a) - rank(b) || b.key.schedule.createdAt.getTime() - a.key.schedule.createdAt.getTime());
    // Instances may go on signing with a retired key until they re-read KEYS_DIR, and clocks differ a little.
    const signedUntil = (s: KeyStatus) =>
      s.retiredAt ? new Date(s.retiredAt.getTime() + (this.opts.reloadSeconds + CLOCK_SKEW_SECONDS) * 1000) : null;
    const value: Snapshot = {
      statuses,
      active: statuses.find((s) => s.state === 'active')!.key,
      published: new Map(
        statuses
          .filter((s) => s.published)
          .map((s) => [
            s.key.kid,
            {
              alg: s.key.alg,
              publicKey: s.key.publicKey,
              signedNoLaterThan: signedUntil(s),
            },
          ]),
      ),
      // Verifiers elsewhere learn the same limit from the JWKS.
      jwks: {
        keys: ordered.map((s) => {
          const jwk = this.jwkCache.get(s.key.kid)!;
          const until = signedUntil(s);
          return until ? { ...jwk, [SIGNED_UNTIL_MEMBER]: epochSeconds(until) } : jwk;
        }),
      },
    };
    this.snapshot = { at, value };
    return value;
  }

  /** The key that signs now. */
  get signing(): KeyFile {
    return this.current().active;
  }

  get jwks(): { keys: PublicJwk[] } {
    return this.current().jwks;
  }

  get statuses(): KeyStatus[] {
    return this.current().statuses;
  }

  /** A published key by the kid a token names, or undefined when it isn't (or is no longer) one of ours. */
  verificationKey(kid: unknown): VerificationKey | undefined {
    return typeof kid === 'string' ? this.current().published.get(kid) : undefined;
  }
}

async function toPublicJwk(key: KeyFile): Promise<PublicJwk> {
  const jwk = await exportJWK(key.publicKey);
  // Public members only, whatever the key type: n/e (RSA), crv/x/y (EC), crv/x (OKP).
  const pick = (names: string[]) =>
    Object.fromEntries(names.filter((n) => jwk[n as keyof JWK] !== undefined).map((n) => [n, jwk[n as keyof JWK]]));
  return { kty: jwk.kty!, ...pick(['n', 'e', 'crv', 'x', 'y']), kid: key.kid, alg: key.alg, use: 'sig' };
}
