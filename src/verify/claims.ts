// The claims of a Tessera access token (RFC 9068 profile), checked for shape after the signature.
import type { JWTPayload } from 'jose';

export interface TesseraClaims {
  /** The user id. */
  sub: string;
  /** The session id: what logout and logout-all revoke. Absent from service clients' tokens (require.ts). */
  sid?: string;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string | string[];
  client_id?: string;
  /** When the user logged in (seconds since the epoch). */
  auth_time?: number;
  /** The user's roles when the token was issued (RFC 9068 §2.2.3.1); absent when none. */
  roles?: string[];
  /** A client_credentials token's scopes, space-separated. */
  scope?: string;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The claims, or a reason they don't have the shape Tessera signs. Only the known claims are kept. */
export function toClaims(p: JWTPayload): TesseraClaims | string {
  const { sub, sid, jti, iat, exp, iss, aud, client_id, auth_time, roles, scope } = p;
  if (!isString(sub) || !isString(jti)) return 'sub and jti must be non-empty strings';
  // A user token names its session; a client token has none, and is about the client itself.
  if (sid !== undefined ? !isString(sid) : sub !== client_id || !isString(scope)) return 'sid, or client_id = sub and scope, are required';
  if (roles !== undefined && !(Array.isArray(roles) && roles.every(isString))) return 'roles must be an array of strings';
  if (!isNumber(iat) || !isNumber(exp) || !isString(iss)) return 'iat, exp and iss are required';
  if (!isString(aud) && !(Array.isArray(aud) && aud.every(isString))) return 'aud must be a string or an array of strings';
  if (client_id !== undefined && !isString(client_id)) return 'client_id must be a string';
  if (auth_time !== undefined && !isNumber(auth_time)) return 'auth_time must be a number';
  return {
    sub, jti, iat, exp, iss, aud,
    ...(sid !== undefined ? { sid: sid as string } : {}),
    ...(client_id !== undefined ? { client_id } : {}),
    ...(auth_time !== undefined ? { auth_time } : {}),
    ...(roles !== undefined ? { roles: roles as string[] } : {}),
    ...(scope !== undefined ? { scope: scope as string } : {}),
  };
}
