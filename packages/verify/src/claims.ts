// The claims of a Tessera access token (RFC 9068 profile), checked for shape after the signature by
// the contract's rule (contract.ts), the same one Tessera applies to the tokens it receives.
import type { JWTPayload } from 'jose';
import { claimsProblem } from './contract.js';

export interface TesseraClaims {
  /** The user id (a UUID). */
  sub: string;
  /** The session id (a UUID): what logout and logout-all revoke. */
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

/** The claims, or a reason they don't have the shape Tessera signs. Only the known claims are kept. */
export function toClaims(p: JWTPayload): TesseraClaims | string {
  const problem = claimsProblem(p);
  if (problem) return problem;
  const { sub, sid, jti, iat, exp, iss, aud, client_id, auth_time } = p as unknown as TesseraClaims;
  return {
    sub, sid, jti, iat, exp, iss, aud,
    ...(client_id !== undefined ? { client_id } : {}),
    ...(auth_time !== undefined ? { auth_time } : {}),
  };
}
