// Client authentication at the token endpoint for OAuth clients registered in the database
// (src/domain/oauth/clients.ts), one method per request and exactly the one the client registered:
//   none                 client_id in the body only (a public client; PKCE is its proof)
//   client_secret_basic  HTTP Basic, id and secret form-urlencoded first (RFC 6749 §2.3.1)
//   client_secret_post   client_id and client_secret in the body (either of the two for a secret client)
//   private_key_jwt      client_assertion (RFC 7523), checked by src/domain/authz/client-assertions.ts
// Any failure: 401 invalid_client with a Basic challenge, the same answer for an unknown client.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { ASSERTION_TYPE, AssertionRefused, type ClientAssertions } from '../domain/authz/client-assertions.js';
import type { OAuthClient, OAuthClients } from '../domain/oauth/clients.js';

const BASIC = /^Basic +([A-Za-z0-9+/]+=*) *$/i;

function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

type Presented =
  | { method: 'client_secret_basic' | 'client_secret_post'; id: string; secret: string }
  | { method: 'private_key_jwt'; id: string | undefined; assertion: string }
  | { method: 'none'; id: string };

function presented(request: FastifyRequest): Presented | null {
  const body = (request.body ?? {}) as Record<string, unknown>;
  const header = request.headers.authorization;
  const id = typeof body.client_id === 'string' ? body.client_id : undefined;
  const kinds = [header !== undefined, body.client_secret !== undefined, body.client_assertion !== undefined];
  if (kinds.filter(Boolean).length > 1)
    throw new AppError('invalid_request', { message: 'Use one client authentication method, not two.' });
  if (header !== undefined) {
    const m = BASIC.exec(header);
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const basicId = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (basicId === null || secret === null || (id !== undefined && id !== basicId)) return null;
    return { method: 'client_secret_basic', id: basicId, secret };
  }
  if (typeof body.client_secret === 'string')
    return id === undefined ? null : { method: 'client_secret_post', id, secret: body.client_secret };
  if (body.client_assertion !== undefined) {
    if (body.client_assertion_type !== ASSERTION_TYPE || typeof body.client_assertion !== 'string') return null;
    return { method: 'private_key_jwt', id, assertion: body.client_assertion };
  }
  return id === undefined ? null : { method: 'none', id };
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const DECOY = sha256('decoy');

export async function authenticateOAuthClient(
  clients: OAuthClients,
  assertions: ClientAssertions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<OAuthClient> {
  const refuse = (detail: string) => {
    reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"');
    return new AppError('invalid_client', { detail });
  };
  const given = presented(request);
  if (!given) throw refuse('no usable client credentials');
  if (given.method === 'private_key_jwt') {
    try {
      const client = await assertions.authenticateAmong((id) => clients.active(id), given.id, given.assertion);
      if (client.authMethod !== 'private_key_jwt') throw refuse(`client ${client.id} is not registered for private_key_jwt`);
      return client;
    } catch (err) {
      if (err instanceof AssertionRefused) throw refuse(`client assertion refused: ${err.message}`);
      throw err;
    }
  }
  const client = await clients.active(given.id);
  if (given.method === 'none') {
    if (client?.authMethod !== 'none') throw refuse('a confidential client must authenticate');
    return client;
  }
  const stored = client?.secretHash ? Buffer.from(client.secretHash.replace(/^sha256:/, ''), 'base64url') : DECOY;
  const match = stored.length === 32 && timingSafeEqual(sha256(given.secret), stored);
  // A secret client may send its secret either way (both are the same proof); no other client may use one.
  if (!client || !match || !client.authMethod.startsWith('client_secret_'))
    throw refuse(`client authentication failed for ${JSON.stringify(given.id.slice(0, 64))}`);
  return client;
}
