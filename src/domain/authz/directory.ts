// Reading users and the audit trail for operators. Both lists use keyset cursors, never offsets, so a page
// is stable while rows are inserted: users are ordered by email (unique; a prefix search uses its index),
// audit events by id, newest first (ids only grow, so new events never shift the pages after the first).
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Clock } from '../clock.js';
import { liveWhere } from '../sessions/session-state.js';

export interface UserSummary {
  id: string;
  email: string;
  createdAt: Date;
  disabledAt: Date | null;
  roles: string[];
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

export interface AuditView {
  id: string;
  type: string;
  userId: string | null;
  sessionId: string | null;
  reason: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  createdAt: Date;
}

export interface AuditFilter {
  userId?: string;
  type?: string;
  from?: Date;
  to?: Date;
  cursor?: string;
  limit: number;
}

const encode = (v: string) => Buffer.from(v, 'utf8').toString('base64url');
/** Cursors are opaque to clients: they pass back what they were given. */
const decode = (c: string) => Buffer.from(c, 'base64url').toString('utf8');

const userFields = {
  id: true,
  email: true,
  createdAt: true,
  disabledAt: true,
  roles: { select: { role: true }, orderBy: { role: 'asc' } },
} as const;

type UserRow = { id: string; email: string; createdAt: Date; disabledAt: Date | null; roles: { role: string }[] };
const summary = (u: UserRow): UserSummary => ({ ...u, roles: u.roles.map((r) => r.role) });

export class Directory {
  constructor(
    private readonly db: PrismaClient,
    private readonly clock: Clock,
  ) {}

  async users(opts: { emailPrefix?: string; cursor?: string; limit: number }): Promise<Page<UserSummary>> {
    const after = opts.cursor ? decode(opts.cursor) : undefined;
    const rows = await this.db.user.findMany({
      where: {
        ...(opts.emailPrefix ? { email: { startsWith: opts.emailPrefix.toLowerCase() } } : {}),
        ...(after !== undefined ? { AND: [{ email: { gt: after } }] } : {}),
      },
      orderBy: { email: 'asc' },
      take: opts.limit + 1,
      select: userFields,
    });
    const items = rows.slice(0, opts.limit).map(summary);
    return { items, nextCursor: rows.length > opts.limit ? encode(items[items.length - 1]!.email) : null };
  }

  async user(userId: string): Promise<UserSummary | null> {
    const row = await this.db.user.findUnique({ where: { id: userId }, select: userFields });
    return row ? summary(row) : null;
  }

  /** The user's live sessions, most recently used first. */
  async sessions(userId: string) {
    return this.db.session.findMany({
      where: { userId, ...liveWhere(this.clock.now()) },
      orderBy: [{ lastUsedAt: 'desc' }, { id: 'asc' }],
      take: 100,
      select: { id: true, createdAt: true, lastUsedAt: true, expiresAt: true, userAgent: true, ip: true },
    });
  }

  async audit(filter: AuditFilter): Promise<Page<AuditView>> {
    const before =
      filter.cursor && /^[0-9]{1,19}$/.test(decode(filter.cursor)) ? BigInt(decode(filter.cursor)) : undefined;
    const rows = await this.db.auditEvent.findMany({
      where: {
        ...(filter.userId ? { userId: filter.userId } : {}),
        ...(filter.type ? { type: filter.type } : {}),
        ...(filter.from || filter.to
          ? { createdAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } }
          : {}),
        ...(before !== undefined ? { id: { lt: before } } : {}),
      },
      orderBy: { id: 'desc' },
      take: filter.limit + 1,
      select: {
        id: true,
        type: true,
        userId: true,
        sessionId: true,
        reason: true,
        ip: true,
        userAgent: true,
        requestId: true,
        createdAt: true,
      },
    });
    const items = rows.slice(0, filter.limit).map((r) => ({ ...r, id: r.id.toString() }));
    return { items, nextCursor: rows.length > filter.limit ? encode(items[items.length - 1]!.id) : null };
  }
}
