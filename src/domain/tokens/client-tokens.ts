// Access tokens for service clients (RFC 6749 §4.4 client_credentials, in the RFC 9068 profile): `sub` and
// `client_id` are the client, `scope` what it asked for within what it may have, `aud` its configured
// audience. Same keys, same `typ`, same JWKS as user tokens; what tells them apart is the absence of `sid`
// (no session stands behind a client token, so it can't be refreshed: it expires within
// ACCESS_TOKEN_TTL_SECONDS, or is revoked earlier by its jti, client-token-revocations.ts). Their claims are
// decided in token-issuer.ts; verification pins the algorithm to the key's own, as access-tokens.ts does, and
// refuses a revoked jti.
import type { TesseraClaims } from '@tessera/verify/contract';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { KeyStore } from '../keys/keys.js';
import type { ServiceClient } from './service-clients.js';
import { TokenInvalid, verifySigned } from './access-tokens.js';

export interface ClientTokenSettings {
  issuer: string;
  ttlSeconds: number;
}

/** A verified client token: the contract's claims, with the client and scope every client token names. */
export type ClientClaims = TesseraClaims & { client_id: string; scope: string };

/** The scopes granted for a request: all of the client's when it names none (RFC 6749 §3.3), else a subset. */
export function grantedScopes(client: ServiceClient, requested: string | undefined): string[] {
  if (requested === undefined || requested.trim() === '') return client.scopes;
  const asked = [...new Set(requested.split(' ').filter(Boolean))];
  const refused = asked.filter((s) => !client.scopes.includes(s));
  if (refused.length > 0 || requested.includes('\t')) {
    throw new DomainError('invalid_scope', {
      detail: `client ${client.id} asked for ${refused.join(' ').slice(0, 200)}`,
    });
  }
  return asked;
}

export class ClientTokens {
  constructor(
    private readonly keys: KeyStore,
    private readonly settings: ClientTokenSettings,
    private readonly clock: Clock,
    /** The denylist of revoked client tokens (client-token-revocations.ts). */
    private readonly revocations: { isRevoked(jti: string): Promise<boolean> },
  ) {}

  /**
   * Verifies a client token (any audience: callers check it), not revoked; throws TokenInvalid with a
   * log-only reason.
   */
  async verify(token: string): Promise<ClientClaims> {
    const payload = await verifySigned(token, this.keys, this.clock, {
      issuer: this.settings.issuer,
      ttlSeconds: this.settings.ttlSeconds,
      requiredClaims: ['iss', 'aud', 'sub', 'client_id', 'scope', 'jti', 'iat', 'exp'],
    });
    if (payload.sid !== undefined || payload.sub !== payload.client_id) throw new TokenInvalid('not a client token');
    if (typeof payload.scope !== 'string') throw new TokenInvalid('scope is not a string');
    // Last, so that only a token that verifies costs a lookup.
    if (await this.revocations.isRevoked(String(payload.jti))) throw new TokenInvalid('client token revoked');
    return payload as unknown as ClientClaims;
  }
}
