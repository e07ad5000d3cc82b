// The key policies, derived from the settings in one place, so the service, its plugin, the cluster primary
// and `npm run keys` rotate and prune by the same numbers. The settings are named structurally (a Config
// fits), so the domain doesn't import the config module.
import type { RotationPolicy } from './key-rotation.js';
import type { MacKeyPolicy } from './refresh-keys.js';
import type { SigningAlg } from './key-files.js';

export interface KeySettings {
  jwksMaxAge: number;
  keysReloadSeconds: number;
  keyRotationDays: number;
  signingAlg: SigningAlg;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  sessionIdle: number;
}

/** A new signing key is published for a whole JWKS max-age plus one reload before it may sign. */
export function rotationPolicy(settings: KeySettings): RotationPolicy {
  return {
    leadSeconds: settings.jwksMaxAge + settings.keysReloadSeconds,
    reloadSeconds: settings.keysReloadSeconds,
    rotationDays: settings.keyRotationDays,
    alg: settings.signingAlg,
    accessTokenTtlSeconds: settings.accessTokenTtl,
  };
}

/** A refresh-token MAC key is kept while a token it minted can still be live. */
export function macKeyPolicy(settings: KeySettings): MacKeyPolicy {
  return {
    reloadSeconds: settings.keysReloadSeconds,
    tokenLifetimeSeconds: Math.min(settings.refreshTokenTtl, settings.sessionIdle),
  };
}
