// The browser session of the authorization endpoint: which Tessera session this browser signed in with, so
// a second authorization skips the password (SSO). The cookie names the session and carries a MAC made with
// the refresh-token keys (refresh-keys.ts) under its own label, so it can't be minted from the database nor
// taken for a refresh token. Nothing about it is stored: it is live exactly while its session is (logout,
// "end all sessions", a password change or a disabled account end it), and only a session of Tessera itself
// (not an OAuth client's grant) can stand behind it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Sql } from '../../db/sql.js';
import type { Clock } from '../clock.js';
import { isUuid } from '../ids.js';
import type { MacKeyRing } from '../keys/refresh-keys.js';
import { liveSql } from '../sessions/session-state.js';

const LABEL = 'tessera-browser-session|';
const SHAPE = /^([0-9a-f]{8})\.([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

export interface BrowserSession {
  userId: string;
  sessionId: string;
  /** When the user signed in (the session's start): auth_time. */
  authTime: Date;
  idp: string | null;
  /** RFC 8176 methods of the sign-in (src/domain/sessions/assurance.ts); null: a session from before they were kept. */
  amr: string[] | null;
}

const LIVE = `
SELECT s.user_id::text AS user_id, s.created_at, s.idp, s.amr FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.id = $1::uuid AND s.client_id IS NULL AND u.disabled_at IS NULL AND ${liveSql('s', '$2')}`;

export class BrowserSessions {
  constructor(
    private readonly keys: MacKeyRing,
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** The cookie value for a session. */
  seal(sessionId: string): string {
    const key = this.keys.minting;
    return `${key.id}.${sessionId}.${this.mac(key.secret, sessionId)}`;
  }

  /** The live session a cookie names, or null. One statement (none for a forged cookie). */
  async open(cookie: string | undefined): Promise<BrowserSession | null> {
    const m = cookie ? SHAPE.exec(cookie) : null;
    if (!m || !isUuid(m[2]!)) return null;
    const key = this.keys.key(m[1]!);
    if (!key) return null;
    const expected = Buffer.from(this.mac(key.secret, m[2]!));
    const given = Buffer.from(m[3]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    return this.live(m[2]!);
  }

  /** The live Tessera session of this id (one the external login page started, named by its challenge), or null. */
  async live(sessionId: string): Promise<BrowserSession | null> {
    if (!isUuid(sessionId)) return null;
    const [row] = await this.sql.query<{ user_id: string; created_at: Date; idp: string | null; amr: string[] | null }>(
      LIVE,
      [sessionId, this.clock.now().toISOString()],
    );
    return row ? { userId: row.user_id, sessionId, authTime: row.created_at, idp: row.idp, amr: row.amr } : null;
  }

  private mac(secret: Buffer, sessionId: string): string {
    return createHmac('sha256', secret)
      .update(LABEL + sessionId)
      .digest('base64url');
  }
}
