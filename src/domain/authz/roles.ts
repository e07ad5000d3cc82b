// Roles of users: what a resource server may decide on without calling back (the `roles` claim of access
// tokens, RFC 9068 §2.2.3.1). Stored one row per (user, role); a grant or revoke writes its audit row in the
// same transaction, naming who acted. Tokens pick a change up at their next refresh; introspection and the
// admin API read the rows, so they see it at once.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { endSessions } from '../sessions/session-end.js';
import { actorName, type Actor } from '../actor.js';
import { LOCKING_TX } from '../transactions.js';
import { ADMIN_ROLE, assertAnotherAdminRemains } from '../accounts/last-admin.js';
import { lockUser } from '../accounts/user-lock.js';

/** Short names: `admin`, `support`, `billing:read`. No spaces or commas, so they list cleanly anywhere. */
const ROLE_PATTERN = /^[a-z][a-z0-9._:-]{0,63}$/;

function assertRole(role: string): string {
  if (!ROLE_PATTERN.test(role)) throw new DomainError('invalid_role');
  return role;
}

export class Roles {
  constructor(
    private readonly db: PrismaClient,
    private readonly clock: Clock,
  ) {}

  /** The user's roles, sorted (the order tokens carry them in). */
  async of(userId: string): Promise<string[]> {
    const rows = await this.db.userRole.findMany({
      where: { userId },
      select: { role: true },
      orderBy: { role: 'asc' },
    });
    return rows.map((r) => r.role);
  }

  /** Grants a role; true if the user did not have it. not_found for an unknown user. */
  async grant(userId: string, role: string, actor: Actor, meta: RequestMeta): Promise<boolean> {
    assertRole(role);
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true } });
      if (!user) throw new DomainError('not_found', { detail: 'no such user' });
      const { count } = await tx.userRole.createMany({
        data: [{ userId, role, grantedAt: now, grantedBy: actorName(actor) }],
        skipDuplicates: true,
      });
      if (count === 0) return false;
      await audit(tx, meta, now, { type: 'role_granted', userId, reason: `${role} by ${actorName(actor)}` });
      return true;
    });
  }

  /**
   * Revokes a role; true if the user had it. By default sessions stay and the role leaves tokens at their
   * next refresh (within ACCESS_TOKEN_TTL_SECONDS). With `endSessions` every session of the user ends now:
   * tokens already issued fail introspection and the Bearer check at once, at the price of a new login.
   * The last enabled admin keeps `admin` (last_admin; see last-admin.ts).
   */
  async revoke(
    userId: string,
    role: string,
    actor: Actor,
    meta: RequestMeta,
    opts: { endSessions?: boolean } = {},
  ): Promise<boolean> {
    assertRole(role);
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      if (role === ADMIN_ROLE) await assertAnotherAdminRemains(tx, userId, actor, 'demotion');
      // The user's row before the role's and the sessions', as the account's deletion takes them: a revoke that
      // ends sessions deadlocked with a deletion of the same user otherwise.
      await lockUser(tx, userId);
      const { count } = await tx.userRole.deleteMany({ where: { userId, role } });
      if (count === 0) return false;
      // The end writes the role_revoked row (naming the role), whether it ends every session or, by default, none.
      const which = opts.endSessions ? { userId } : { userId, ids: [] };
      await endSessions(tx, { which, reason: 'role_revoked', by: { kind: 'admin', actor }, note: role }, meta, now);
      return true;
    }, LOCKING_TX);
  }
}
