// Sign-ins in progress. The state, nonce and PKCE verifier never leave the server: the browser gets a
// random key in a short-lived cookie, and the row is found by the key's SHA-256. So the flow is bound to
// the browser that started it (another browser has no key), nothing in the cookie can be forged or read,
// and consuming the row is one DELETE … RETURNING: of any number of callbacks presenting one key, exactly
// one gets the flow, and a callback replayed after success finds nothing.
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Clock } from '../clock.js';
import type { FlowSecrets } from './upstream.js';

/** How long a user may spend at the provider. */
export const FLOW_TTL_SECONDS = 600;

export interface Flow extends FlowSecrets {
  provider: string;
  returnTo: string;
  /** Set when a signed-in user is linking a new identity: the user and the session that asked. */
  link: LinkRequest | null;
}

/** Who asked for a link: the user, from a session that must still be live when it completes. */
export interface LinkRequest {
  userId: string;
  sessionId: string;
}

interface FlowRow {
  provider: string;
  state: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  link_user_id: string | null;
  link_session_id: string | null;
  expires_at: Date;
}

const hashOf = (key: string) => createHash('sha256').update(key).digest('base64url');

export class OAuthFlows {
  constructor(
    private readonly db: PrismaClient,
    private readonly clock: Clock,
  ) {}

  /** Stores a new flow; returns the key for the browser's cookie. */
  async create(flow: Flow): Promise<string> {
    const key = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    // Flows abandoned at the provider: a bounded sweep on each start keeps the table small.
    await this.db
      .$executeRaw`DELETE FROM oauth_flows WHERE key_hash IN (SELECT key_hash FROM oauth_flows WHERE expires_at < ${now} LIMIT 100)`;
    await this.db.oAuthFlow.create({
      data: {
        keyHash: hashOf(key),
        provider: flow.provider,
        state: flow.state,
        nonce: flow.nonce,
        codeVerifier: flow.codeVerifier,
        returnTo: flow.returnTo,
        linkUserId: flow.link?.userId ?? null,
        linkSessionId: flow.link?.sessionId ?? null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + FLOW_TTL_SECONDS * 1000),
      },
    });
    return key;
  }

  /** Takes the flow of this key away (whatever happens next, it can't be used again). Null: none, or expired. */
  async consume(key: string): Promise<Flow | null> {
    const [row] = await this.db.$queryRaw<FlowRow[]>`
      DELETE FROM oauth_flows WHERE key_hash = ${hashOf(key)}
      RETURNING provider, state, nonce, code_verifier, return_to, link_user_id::text AS link_user_id,
                link_session_id::text AS link_session_id, expires_at`;
    if (!row || row.expires_at <= this.clock.now()) return null;
    return {
      provider: row.provider,
      state: row.state,
      nonce: row.nonce,
      codeVerifier: row.code_verifier,
      returnTo: row.return_to,
      // A link flow from before flows named their session has none: refused at completion (link_session_id).
      link: row.link_user_id ? { userId: row.link_user_id, sessionId: row.link_session_id ?? '' } : null,
    };
  }
}
