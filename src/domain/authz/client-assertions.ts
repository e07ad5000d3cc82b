// private_key_jwt (RFC 7523 §2.2, OIDC Core §9): a service proves who it is with a short JWT signed by its
// own key, instead of a shared secret. Checked here: the signature, against the client's configured public
// keys only, with the algorithm pinned; iss = sub = client_id; aud naming the issuer or the endpoint it is
// sent to (token, introspection or revocation: one step authenticates clients at all three);
// exp present, in the future and at most MAX_ASSERTION_SECONDS ahead (so a captured assertion is short-
// lived whatever it claims); a jti never seen before. The jti is written to the database under a primary
// key, so of any number of concurrent uses of one assertion, on any number of instances, exactly one wins.
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Clock } from '../clock.js';
import type { ServiceClient, ServiceClients } from '../tokens/service-clients.js';

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Algorithms a client may sign with: asymmetric only (an HMAC would need a shared secret after all). */
export const ASSERTION_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** The longest an assertion may live from now, and how long its jti is kept. */
const MAX_ASSERTION_SECONDS = 300;
const MAX_ASSERTION_LENGTH = 8192;

/** Why an assertion was refused, for the log only (the client sees invalid_client). */
export class AssertionRefused extends Error {
  override name = 'AssertionRefused';
}

export class ClientAssertions {
  private readonly keySets = new Map<string, ReturnType<typeof createLocalJWKSet>>();

  constructor(
    private readonly db: PrismaClient,
    private readonly clients: ServiceClients,
    /** Accepted `aud` values: the issuer and the URLs of the endpoints clients authenticate at. */
    private readonly audiences: string[],
    private readonly clock: Clock,
  ) {}

  /** The client this assertion proves, or AssertionRefused. */
  async authenticate(clientIdParam: string | undefined, assertion: string): Promise<ServiceClient> {
    if (assertion.length > MAX_ASSERTION_LENGTH) throw new AssertionRefused('assertion too large');
    const claimedIss = unverifiedIssuer(assertion);
    const client = claimedIss ? this.clients.get(claimedIss) : null;
    if (!client?.jwks) throw new AssertionRefused('unknown client or no keys configured');
    if (clientIdParam !== undefined && clientIdParam !== client.id)
      throw new AssertionRefused('client_id differs from the assertion');
    const now = this.clock.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, this.keySet(client), {
        algorithms: ASSERTION_ALGS,
        issuer: client.id,
        subject: client.id,
        audience: this.audiences,
        currentDate: now,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) throw new AssertionRefused(`${err.code}: ${err.message}`);
      throw err;
    }
    const exp = payload.exp!;
    const nowSeconds = Math.floor(now.getTime() / 1000);
    if (exp > nowSeconds + MAX_ASSERTION_SECONDS) throw new AssertionRefused('assertion lives too long');
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256)
      throw new AssertionRefused('bad jti');
    await this.spend(client.id, payload.jti, new Date(exp * 1000));
    return client;
  }

  /** Records the jti; AssertionRefused if any instance recorded it first. */
  private async spend(clientId: string, jti: string, expiresAt: Date): Promise<void> {
    const now = this.clock.now();
    // Forget this client's expired jtis (such assertions fail on exp anyway), so the table stays small.
    await this.db.clientAssertionJti.deleteMany({ where: { clientId, expiresAt: { lt: now } } });
    const inserted = await this.db.$executeRaw`
      INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES (${clientId}, ${jti}, ${expiresAt})
      ON CONFLICT DO NOTHING`;
    if (inserted !== 1) throw new AssertionRefused('jti replayed');
  }

  private keySet(client: ServiceClient) {
    let set = this.keySets.get(client.id);
    if (!set) {
      set = createLocalJWKSet(client.jwks!);
      this.keySets.set(client.id, set);
    }
    return set;
  }
}

/** The iss of a JWT before any check, only to choose whose keys verify it. */
function unverifiedIssuer(jwt: string): string | null {
  try {
    const { iss } = decodeJwt(jwt);
    return typeof iss === 'string' ? iss : null;
  } catch {
    return null;
  }
}
