// The claims of a Tessera access token (RFC 9068 profile), checked for shape after the signature by
// the contract's rule (contract.ts), the same one Tessera applies to the tokens it receives. Every claim
// of the contract's CLAIM_TYPES is returned when the token carries it, typed here.
import type { JWTPayload } from 'jose';
import { claimsProblem, contractClaims, type TesseraClaims } from './contract.js';

export type { TesseraClaims } from './contract.js';

/** The claims, or a reason they don't have the shape Tessera signs. Claims outside the contract are dropped. */
export function toClaims(p: JWTPayload): TesseraClaims | string {
  const problem = claimsProblem(p);
  if (problem) return problem;
  return contractClaims(p);
}
