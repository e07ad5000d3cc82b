// The passkey settings (WebAuthn, src/domain/passkeys/), validated at boot with the rest of src/config.ts and
// kept in their own file. A browser binds a passkey to its relying party id (a domain) and reports the page's
// origin in every ceremony; the server must accept only origins within that id, else a passkey registered here
// could be exercised from a page nobody meant to trust. So a wrong list is a boot error, not a silent hole.
import { isIP } from 'node:net';
import { Type, type Static } from 'typebox';

/** Spread into the env schema of src/config.ts. */
export const WebauthnEnvFields = {
  /** The relying party id (a domain: the API's or a parent of it); unset = passkeys off. */
  WEBAUTHN_RP_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  WEBAUTHN_RP_NAME: Type.String({ minLength: 1, maxLength: 100, default: 'Tessera' }),
  /** Comma list of the origins pages run ceremonies on; unset = the ISSUER's origin. */
  WEBAUTHN_ORIGINS: Type.Optional(Type.String()),
};

const WebauthnEnv = Type.Object(WebauthnEnvFields);
type WebauthnEnvT = Static<typeof WebauthnEnv>;

export interface WebauthnConfig {
  rpId: string;
  rpName: string;
  /** Exact origins (https://…, http://localhost…) and Android apps (android:apk-key-hash:…). */
  origins: string[];
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const ANDROID = /^android:apk-key-hash:[A-Za-z0-9_-]{16,}={0,2}$/;

const isLocalhost = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** The origin as a browser reports it, or a reason it can't be one of this relying party's. */
function checkOrigin(entry: string, rpId: string): { origin: string } | { problem: string } {
  if (entry.startsWith('android:')) {
    return ANDROID.test(entry) ? { origin: entry } : { problem: 'is not android:apk-key-hash:<base64url SHA-256>' };
  }
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return { problem: 'is not an origin like https://app.example.com' };
  }
  if (url.origin !== entry.replace(/\/$/, '')) return { problem: 'is not an exact origin (no path, query or #)' };
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLocalhost(url.hostname)))
    return { problem: 'must use https (http only for localhost)' };
  if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`))
    return { problem: `is not within WEBAUTHN_RP_ID ${rpId} (its host must be ${rpId} or end in .${rpId})` };
  return { origin: url.origin };
}

/** The passkey settings, or undefined when WEBAUTHN_RP_ID is unset; `fail` throws the boot error. */
export function webauthnConfig(
  env: WebauthnEnvT,
  issuer: string,
  fail: (message: string) => never,
): WebauthnConfig | undefined {
  const rpId = env.WEBAUTHN_RP_ID?.trim().toLowerCase();
  if (!rpId) {
    if (env.WEBAUTHN_ORIGINS) fail('invalid configuration: WEBAUTHN_ORIGINS is set but WEBAUTHN_RP_ID is not');
    return undefined;
  }
  if (!DOMAIN.test(rpId) || isIP(rpId) !== 0)
    fail(`invalid configuration: WEBAUTHN_RP_ID must be a domain name like example.com (no scheme, port or IP)`);
  const entries = (env.WEBAUTHN_ORIGINS ?? new URL(issuer).origin)
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (entries.length === 0) fail('invalid configuration: WEBAUTHN_ORIGINS must name at least one origin');
  const origins = entries.map((entry) => {
    const checked = checkOrigin(entry, rpId);
    if ('problem' in checked)
      fail(`invalid configuration: WEBAUTHN_ORIGINS entry ${JSON.stringify(entry)} ${checked.problem}`);
    return checked.origin;
  });
  return { rpId, rpName: env.WEBAUTHN_RP_NAME, origins };
}
