// A user's sessions as the user sees them: list the live ones, end one. And the purge job that
// deletes sessions long over, and legacy refresh-token rows as they expire, in bounded batches.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import type { SessionLifecycle } from './session-lifecycle.js';
import { liveWhere } from './session-state.js';
import { batches } from '../batches.js';

export interface SessionView {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
}

const MAX_LISTED = 100;

export class Sessions {
  constructor(
    private readonly db: PrismaClient,
    private readonly lifecycle: SessionLifecycle,
    private readonly clock: Clock,
  ) {}

  /** The user's live sessions, most recently used first. */
  async list(userId: string, currentSessionId: string): Promise<SessionView[]> {
    const rows = await this.db.session.findMany({
      where: { userId, ...liveWhere(this.clock.now()) },
      orderBy: [{ lastUsedAt: 'desc' }, { id: 'asc' }],
      take: MAX_LISTED,
      select: { id: true, createdAt: true, lastUsedAt: true, expiresAt: true, userAgent: true, ip: true },
    });
    return rows.map((r) => ({ ...r, current: r.id === currentSessionId }));
  }

  /**
   * Ends one of the user's own sessions. False when there is no such live session of this user:
   * someone else's session and a session that doesn't exist look the same.
   */
  async revoke(userId: string, sessionId: string, meta: RequestMeta): Promise<boolean> {
    const ended = await this.lifecycle.end(
      {
        which: { ids: [sessionId], userId, liveAt: this.clock.now() },
        reason: 'revoked_by_user',
        by: { kind: 'self' },
      },
      meta,
    );
    return ended.length > 0;
  }

  /**
   * Deletes what can no longer matter:
   * - sessions that ended (expired or revoked) more than `afterDays` ago (with any legacy refresh-token
   *   rows, by cascade); the audit table keeps their history;
   * - legacy refresh-token rows past their own expiry: such a token is refused whatever its row says, so
   *   the row no longer serves reuse detection. No new rows are written (v2 tokens have none), so this
   *   empties the table within REFRESH_TOKEN_TTL_SECONDS of the upgrade.
   * Works in batches of `batchSize` so no statement grows without bound, and stops after `maxBatches`
   * per kind so one run never holds the database for long; the next run continues.
   */
  async purge(
    afterDays: number,
    batchSize = 500,
    maxBatches = 100,
  ): Promise<{ sessions: number; refreshTokens: number }> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - afterDays * 86_400_000);
    const sessions = await batches(
      batchSize,
      maxBatches,
      () => this.db.$executeRaw`
      DELETE FROM sessions WHERE id IN (
        SELECT id FROM sessions WHERE expires_at < ${cutoff} OR revoked_at < ${cutoff} LIMIT ${batchSize}
      )`,
    );
    const refreshTokens = await batches(
      batchSize,
      maxBatches,
      () => this.db.$executeRaw`
      DELETE FROM refresh_tokens WHERE id IN (
        SELECT id FROM refresh_tokens WHERE expires_at < ${now} LIMIT ${batchSize}
      )`,
    );
    return { sessions, refreshTokens };
  }
}
