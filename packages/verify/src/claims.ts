// The claims of a Tessera access token (RFC 9068 profile), checked for shape after the signature by
// the contract's rule (contract.ts), the same one Tessera applies to the tokens it receives.
import type { JWTPayload } from 'jose';
import { claimsProblem } from './contract.js';

export interface TesseraClaims {
  /** The user id (a UUID), or for a service token the client id. */
  sub: string;
  /** The session id (a UUID): what logout and logout-all revoke. Absent from service clients' tokens (require.ts). */
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

/** The claims, or a reason they don't have the shape Tessera signs. Only the known claims are kept. */
export function toClaims(p: JWTPayload): TesseraClaims | string {
  const problem = claimsProblem(p);
  if (problem) return problem;
  const { sub, sid, jti, iat, exp, iss, aud, client_id, auth_time, roles, scope } = p as unknown as TesseraClaims;
  return {
    sub,
    jti,
    iat,
    exp,
    iss,
    aud,
    ...(sid !== undefined ? { sid } : {}),
    ...(client_id !== undefined ? { client_id } : {}),
    ...(auth_time !== undefined ? { auth_time } : {}),
    ...(roles !== undefined ? { roles } : {}),
    ...(scope !== undefined ? { scope } : {}),
  };
}
