// The claims of a Tessera access token (RFC 9068 profile), checked for shape after the signature.
import type { JWTPayload } from 'jose';

export interface TesseraClaims {
  /** The user id. */
  sub: string;
  /** The session id: what logout and logout-all revoke. */
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string | string[];
  client_id?: string;
  /** When the user logged in (seconds since the epoch). */
  auth_time?: number;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The claims, or a reason they don't have the shape Tessera signs. Only the known claims are kept. */
export function toClaims(p: JWTPayload): TesseraClaims | string {
  const { sub, sid, jti, iat, exp, iss, aud, client_id, auth_time } = p;
  if (!isString(sub) || !isString(sid) || !isString(jti)) return 'sub, sid and jti must be non-empty strings';
  if (!isNumber(iat) || !isNumber(exp) || !isString(iss)) return 'iat, exp and iss are required';
  if (!isString(aud) && !(Array.isArray(aud) && aud.every(isString))) return 'aud must be a string or an array of strings';
  if (client_id !== undefined && !isString(client_id)) return 'client_id must be a string';
  if (auth_time !== undefined && !isNumber(auth_time)) return 'auth_time must be a number';
  return {
    sub, sid, jti, iat, exp, iss, aud,
    ...(client_id !== undefined ? { client_id } : {}),
    ...(auth_time !== undefined ? { auth_time } : {}),
  };
}
