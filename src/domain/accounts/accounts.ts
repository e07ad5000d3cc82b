// User accounts: registration, password check, lookup for a verified access token.
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { DomainError } from '../domain-error.js';
import { lockUser, sessionStillLive } from './user-lock.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { LOCKING_TX } from '../transactions.js';
import { emailSkeleton, normalizeEmail } from './emails.js';
import { LoginThrottle, type ThrottleStore } from './login-throttle.js';
import { PasswordGuard } from './password-guard.js';
import { assertNewPassword } from './password-policy.js';
import { isAcceptablePassword, type PasswordHasher } from './passwords.js';
import { liveSql } from '../sessions/session-state.js';
import { endSessions } from '../sessions/session-end.js';

export interface PublicUser {
  id: string;
  email: string;
  createdAt: Date;
  /** Whether the address was proved by email (src/domain/recovery); set where it was read. */
  emailVerified?: boolean;
}

const publicFields = { id: true, email: true, createdAt: true } as const;

/** A user who just proved the password, with the hash it matched (see SessionLifecycle.start). */
export interface AuthenticatedUser extends PublicUser {
  passwordHash: string;
  /** Read with the account, for the login's decisions: REQUIRE_VERIFIED_EMAIL, and whether a second step follows. */
  emailVerified: boolean;
  hasSecondFactor: boolean;
}

type StoredUser = PublicUser & { passwordHash: string | null; emailVerified: boolean; hasSecondFactor: boolean };

/**
 * The login's one read of the account: what the password is checked against, and what the login then decides
 * on (the verified address, a second factor: `hasSecondFactor`, SQL from src/domain/mfa/second-step.ts), so a
 * sign-in reads the user once. One statement on the raw driver (src/db/sql.ts), like the other hot ones.
 */
const loginRead = (hasSecondFactor: string) => `
SELECT u.id::text AS id, u.email, u.created_at, u.password_hash, u.email_verified_at IS NOT NULL AS email_verified,
       ${hasSecondFactor} AS has_second_factor
FROM users u WHERE u.email = $1`;

export class Accounts {
  /** The one guarded password check (password-guard.ts), shared with every flow that asks for a password. */
  readonly passwordGuard: PasswordGuard;
  private readonly loginRead: string;

  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly passwords: PasswordHasher,
    private readonly clock: Clock,
    throttleStore: ThrottleStore,
    /** Whether a user (SQL: `u.id`) has a second factor: hasFactorSql of src/domain/mfa/second-step.ts. */
    hasSecondFactorSql: string,
  ) {
    this.passwordGuard = new PasswordGuard(db, passwords, new LoginThrottle(throttleStore, clock), clock);
    this.loginRead = loginRead(hasSecondFactorSql);
  }

  async register(rawEmail: string, password: string, meta: RequestMeta): Promise<PublicUser> {
    const email = normalizeEmail(rawEmail);
    if (!email) throw new DomainError('invalid_email');
    assertNewPassword(password);
    const passwordHash = await this.passwords.hash(password);
    const now = this.clock.now();
    try {
      return await this.db.$transaction(async (tx) => {
        const data = { id: randomUUID(), email, emailSkeleton: emailSkeleton(email), passwordHash, createdAt: now };
        const user = await tx.user.create({ data, select: publicFields });
        await audit(tx, meta, now, { type: 'register', userId: user.id });
        return user;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('email_taken');
      throw err;
    }
  }

  /**
   * Returns the user whose email and password these are, or throws invalid_credentials.
   * Unknown email and wrong password take the same path: one argon2 verification, one audit row.
   * The guess runs only if the throttle lets this (email, address) guess now, one guess at a time.
   */
  async authenticate(rawEmail: string, password: string, meta: RequestMeta): Promise<AuthenticatedUser> {
    const email = normalizeEmail(rawEmail);
    let user: StoredUser | null = null;
    // Claimed before any lookup or hashing: the same answer for accounts that exist and ones that don't.
    // An account without a password (signed up through a provider) costs the same as an unknown one.
    await this.passwordGuard.check({ purpose: 'login', email: rawEmail, password, meta }, async () => {
      user = email && isAcceptablePassword(password) ? await this.readForLogin(email) : null;
      return { userId: user?.id ?? null, passwordHash: user?.passwordHash ?? null };
    });
    const found = user as unknown as StoredUser & { passwordHash: string };
    let { passwordHash } = found;
    // Hashing parameters changed since this hash was made: upgrade it while we hold the password.
    if (this.passwords.needsRehash(passwordHash))
      passwordHash = await this.upgradeHash(found.id, passwordHash, password);
    return {
      id: found.id,
      email: found.email,
      createdAt: found.createdAt,
      passwordHash,
      emailVerified: found.emailVerified,
      hasSecondFactor: found.hasSecondFactor,
    };
  }

  /**
   * Re-hashes a password with the current parameters and returns the hash this login's session start must find
   * (it starts only while the stored hash is that one). Logins at the same instant all upgrade and one write wins:
   * a loser finds another hash, and verifies its password against it. The same password hashed again (another
   * login's upgrade) is that login's too; another password's hash means the password changed meanwhile, and the
   * old hash is returned, so the start refuses the login (invalid_credentials). The extra verification runs only
   * for a login that lost such a race.
   */
  private async upgradeHash(userId: string, hash: string, password: string): Promise<string> {
    const upgraded = await this.passwords.hash(password);
    const { count } = await this.db.user.updateMany({
      where: { id: userId, passwordHash: hash },
      data: { passwordHash: upgraded },
    });
    if (count === 1) return upgraded;
    const current = await this.db.user.findUnique({ where: { id: userId }, select: { passwordHash: true } });
    if (current?.passwordHash && (await this.passwords.verify(current.passwordHash, password)))
      return current.passwordHash;
    return hash;
  }

  private async readForLogin(email: string): Promise<StoredUser | null> {
    const [row] = await this.sql.query<{
      id: string;
      email: string;
      created_at: Date;
      password_hash: string | null;
      email_verified: boolean;
      has_second_factor: boolean;
    }>(this.loginRead, [email]);
    if (!row) return null;
    return {
      id: row.id,
      email: row.email,
      createdAt: row.created_at,
      passwordHash: row.password_hash,
      emailVerified: row.email_verified,
      hasSecondFactor: row.has_second_factor,
    };
  }

  /**
   * Changes the password of a signed-in user who knows the current one, and ends every other session
   * (the current one stays, so the user isn't logged out of the device they did it on).
   * The current password is a guess like a login's: the one guarded check, same key, one guess at a time.
   * Returns how many sessions ended.
   */
  async changePassword(
    userId: string,
    currentSessionId: string,
    current: string,
    next: string,
    meta: RequestMeta,
  ): Promise<number> {
    const user = await this.db.user.findUniqueOrThrow({
      where: { id: userId },
      select: { email: true, passwordHash: true },
    });
    await this.passwordGuard.check(
      { purpose: 'password_change', email: user.email, password: current, meta, userId, sessionId: currentSessionId },
      async () => ({ userId, passwordHash: user.passwordHash }),
    );
    assertNewPassword(next);
    const passwordHash = await this.passwords.hash(next);
    const now = this.clock.now();
    // The hash the current password was checked against. A login that re-hashed the same password with new
    // argon2 parameters meanwhile changed it without changing the password: checked again, the change goes on.
    let checked = user.passwordHash;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.db.$transaction(async (tx) => {
        // Only from a session still live, and only over the password just checked: a reset, a reclaim of the
        // address, a sign-out everywhere or another change that committed while this one was hashing wins, and
        // this one writes nothing back over it (user-lock.ts).
        await lockUser(tx, userId);
        if (!(await sessionStillLive(tx, userId, currentSessionId)))
          throw new DomainError('session_revoked', { detail: 'the session ended during a password change' });
        const { count } = await tx.user.updateMany({
          where: { id: userId, passwordHash: checked },
          data: { passwordHash },
        });
        if (count === 0) {
          const found = await tx.user.findUnique({ where: { id: userId }, select: { passwordHash: true } });
          return { ended: null, hash: found?.passwordHash ?? null };
        }
        const others = await endSessions(
          tx,
          {
            which: { userId, exceptId: currentSessionId },
            reason: 'password_changed',
            by: { kind: 'self', sessionId: currentSessionId },
          },
          meta,
          now,
        );
        return { ended: others.length, hash: null };
      }, LOCKING_TX);
      if (outcome.ended !== null) return outcome.ended;
      if (attempt > 0 || !outcome.hash || !(await this.passwords.verify(outcome.hash, current)))
        throw new DomainError('current_password_incorrect', {
          detail: 'the password changed during a password change',
        });
      checked = outcome.hash;
    }
  }

  /** Forgets failed logins of (email, address) after a password reset from that address. */
  async forgetFailedLogins(email: string, ip: string): Promise<void> {
    await this.passwordGuard.forget(email, ip);
  }

  /** The user behind an access token, if the token's session is still live: one statement (the Bearer check's hot path). */
  async forSession(userId: string, sessionId: string): Promise<PublicUser | null> {
    const [row] = await this.sql.query<{ id: string; email: string; created_at: Date; email_verified: boolean }>(
      `
      SELECT u.id::text AS id, u.email, u.created_at, u.email_verified_at IS NOT NULL AS email_verified
      FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id = $1::uuid AND s.user_id = $2::uuid AND ${liveSql('s', '$3')}`,
      [sessionId, userId, this.clock.now().toISOString()],
    );
    return row ? { id: row.id, email: row.email, createdAt: row.created_at, emailVerified: row.email_verified } : null;
  }
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2002';
}
