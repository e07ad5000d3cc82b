// Verifier options and their validation. Mistakes (an algorithm that would let a forger choose the
// key, a URL that can't be fetched) throw at construction, so a misconfigured service fails at boot.
import { ACCESS_TOKEN_ALGORITHMS, DEFAULT_ACCESS_TOKEN_TTL_SECONDS, type TesseraAlgorithm } from './contract.js';

export type { TesseraAlgorithm };
/** Asymmetric algorithms only: 'none' and HS* (which would verify with the public key as an HMAC secret) are refused. */
const SUPPORTED_ALGORITHMS: readonly TesseraAlgorithm[] = ACCESS_TOKEN_ALGORITHMS;

export interface IntrospectionOptions {
  /** Default `${issuer}/oauth/introspect`. */
  url?: string;
  /** This service's client credentials at Tessera (its SERVICE_CLIENTS entry). */
  clientId: string;
  clientSecret: string;
  /** Default 3000. */
  timeoutMs?: number;
}

export interface VerifierOptions {
  /** Tessera's ISSUER, exactly as it appears in the `iss` claim. */
  issuer: string;
  /** The audience this service accepts; a token must name at least one of them in `aud`. */
  audience: string | string[];
  /** Default `${issuer}/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Default all three. */
  algorithms?: TesseraAlgorithm[];
  /** Allowed clock skew for exp/iat, in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /**
   * Tessera's ACCESS_TOKEN_TTL_SECONDS. Default 900, Tessera's default. A token whose lifetime (exp − iat)
   * is longer than this plus 60 s is refused: Tessera never signs one, so it was minted with a leaked key.
   */
  accessTokenTtlSeconds?: number;
  /** How long a fetched JWKS is used before it is fetched again. Default 300, Tessera's default JWKS_MAX_AGE_SECONDS. */
  jwksCacheMaxAgeSeconds?: number;
  /** Minimum time between JWKS refetches triggered by an unknown kid (the refetch rate limit). Default 30. */
  jwksCooldownSeconds?: number;
  /** Default 5000. */
  jwksTimeoutMs?: number;
  /** Needed only for verify(token, { introspect: true }). */
  introspection?: IntrospectionOptions;
}

export interface ResolvedOptions {
  issuer: string;
  audience: string[];
  jwksUrl: URL;
  algorithms: TesseraAlgorithm[];
  clockTolerance: number;
  accessTokenTtlSeconds: number;
  cacheMaxAgeMs: number;
  cooldownMs: number;
  jwksTimeoutMs: number;
  introspection: { url: URL; clientId: string; clientSecret: string; timeoutMs: number } | undefined;
}

function fail(message: string): never {
  throw new TypeError(`@tessera/verify: ${message}`);
}

const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function httpUrl(value: unknown, name: string): URL {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    fail(`${name} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  return url;
}

function seconds(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    fail(`${name} must be a number of seconds >= 0`);
  return value;
}

function positiveSeconds(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    fail(`${name} must be a positive integer (seconds)`);
  return value;
}

function milliseconds(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    fail(`${name} must be a positive integer (milliseconds)`);
  return value;
}

export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options are required');
  const { issuer, audience, algorithms = [...SUPPORTED_ALGORITHMS] } = options;
  if (!nonEmptyString(issuer)) fail('issuer must be a non-empty string');
  // Derived URLs tolerate a trailing slash; the `iss` comparison stays exact.
  const base = issuer.replace(/\/+$/, '');

  const audiences = Array.isArray(audience) ? audience : [audience];
  if (audiences.length === 0 || !audiences.every(nonEmptyString))
    fail('audience must be a non-empty string or a non-empty array of them');

  if (!Array.isArray(algorithms) || algorithms.length === 0)
    fail(`algorithms must be a non-empty array of ${SUPPORTED_ALGORITHMS.join(', ')}`);
  for (const alg of algorithms) {
    if (!SUPPORTED_ALGORITHMS.includes(alg)) {
      fail(
        `algorithm ${JSON.stringify(alg)} is not allowed: use ${SUPPORTED_ALGORITHMS.join(', ')} ('none' and HS* are refused)`,
      );
    }
  }

  let introspection: ResolvedOptions['introspection'];
  if (options.introspection !== undefined) {
    const i = options.introspection;
    if (typeof i !== 'object' || i === null) fail('introspection must be an object');
    if (!nonEmptyString(i.clientId)) fail('introspection.clientId must be a non-empty string');
    if (!nonEmptyString(i.clientSecret)) fail('introspection.clientSecret must be a non-empty string');
    introspection = {
      url: httpUrl(i.url ?? `${base}/oauth/introspect`, 'introspection.url'),
      clientId: i.clientId,
      clientSecret: i.clientSecret,
      timeoutMs: milliseconds(i.timeoutMs, 'introspection.timeoutMs', 3000),
    };
  }

  return {
    issuer,
    audience: [...audiences],
    jwksUrl: httpUrl(options.jwksUrl ?? `${base}/.well-known/jwks.json`, 'jwksUrl'),
    algorithms: [...new Set(algorithms)],
    clockTolerance: seconds(options.clockToleranceSeconds, 'clockToleranceSeconds', 5),
    accessTokenTtlSeconds: positiveSeconds(
      options.accessTokenTtlSeconds,
      'accessTokenTtlSeconds',
      DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    ),
    cacheMaxAgeMs: seconds(options.jwksCacheMaxAgeSeconds, 'jwksCacheMaxAgeSeconds', 300) * 1000,
    cooldownMs: seconds(options.jwksCooldownSeconds, 'jwksCooldownSeconds', 30) * 1000,
    jwksTimeoutMs: milliseconds(options.jwksTimeoutMs, 'jwksTimeoutMs', 5000),
    introspection,
  };
}
