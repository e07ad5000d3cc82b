// What a service client may do and how it proves who it is, beyond its id and secret hash: the attributes
// after `;` in a SERVICE_CLIENTS entry, e.g.
//   orders:sha256:<hash>;scope=introspect orders:sync;aud=orders-api
//   billing:private_key_jwt;jwks=/etc/tessera/billing.jwks.json;scope=admin
// An entry without `scope=` keeps what every client could do before scopes existed: introspect and revoke.
// Public keys come from a file read at boot (a JWKS or one JWK), so a bad file fails the boot, not a request.
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet, JWK } from 'jose';

/** Scopes Tessera itself checks; clients may be given others, for resource servers to check. */
export const TESSERA_SCOPES = ['introspect', 'revoke', 'admin', 'authorization_ui'] as const;
/** The scopes of an entry that names none: what service clients could do before scopes. */
const DEFAULT_SCOPES = ['introspect', 'revoke'];
const SCOPE_PATTERN = /^[A-Za-z0-9._:/-]{1,64}$/;
const AUDIENCE_PATTERN = /^[^\s;,]{1,256}$/;

export interface ClientAttributes {
  scopes: string[];
  /** The `aud` of this client's client_credentials tokens; null: Tessera's AUDIENCE. */
  audience: string[] | null;
  /** Public keys for private_key_jwt; null: the client can't use it. */
  jwks: JSONWebKeySet | null;
}

/** Parses `key=value` attributes; throws an Error saying which one is wrong. */
export function parseClientAttributes(attrs: string[]): ClientAttributes {
  const out: ClientAttributes = { scopes: DEFAULT_SCOPES, audience: null, jwks: null };
  const seen = new Set<string>();
  for (const attr of attrs) {
    const eq = attr.indexOf('=');
    const key = attr.slice(0, eq).trim();
    const value = attr.slice(eq + 1).trim();
    if (eq < 0 || seen.has(key))
      throw new Error(`attribute ${JSON.stringify(attr.slice(0, 40))} must be key=value, each key once`);
    seen.add(key);
    const words = value.split(/\s+/).filter(Boolean);
    if (key === 'scope') {
      if (!words.every((w) => SCOPE_PATTERN.test(w)))
        throw new Error('scope= takes space-separated scopes of A-Z a-z 0-9 . _ : / -');
      out.scopes = [...new Set(words)];
    } else if (key === 'aud') {
      if (words.length === 0 || !words.every((w) => AUDIENCE_PATTERN.test(w)))
        throw new Error('aud= takes one or more space-separated audiences');
      out.audience = words;
    } else if (key === 'jwks') {
      out.jwks = readJwks(value);
    } else {
      throw new Error(`unknown attribute ${JSON.stringify(key.slice(0, 20))} (scope, aud, jwks)`);
    }
  }
  return out;
}

function readJwks(file: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(
      `jwks file ${file} cannot be read as JSON (${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'})`,
    );
  }
  const keys = (parsed as { keys?: unknown }).keys ?? [parsed];
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`jwks file ${file} holds no keys`);
  for (const k of keys as JWK[]) {
    if (typeof k !== 'object' || k === null || typeof k.kty !== 'string')
      throw new Error(`jwks file ${file}: every key needs a kty`);
    // A private key in Tessera's config means it was copied from the wrong side: refuse it.
    if ('d' in k || k.kty === 'oct')
      throw new Error(`jwks file ${file} holds a private or symmetric key; give Tessera the public key only`);
  }
  return { keys: keys as JWK[] };
}
