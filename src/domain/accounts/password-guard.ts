// The one guarded password check. Every place that verifies a password (login, password change, email
// change, and any later step-up) goes through check(): the guess claims the (account, address) slot of
// the login throttle first (login-throttle.ts: one guess at a time, then a lock growing with failures),
// costs one argon2 verification whether or not the account exists or has a password, and leaves an audit
// row when it fails or is throttled. All purposes share one counter per (account, address): a stolen access
// token can't turn the email-change form into a password oracle beside a throttled login, and 30 wrong
// guesses fired at the same instant get one evaluated, not 30.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { LoginThrottle } from './login-throttle.js';
import type { PasswordHasher } from './passwords.js';

/** Why a password is checked: names the audit row of a failure and the error a wrong password gives. */
type PasswordPurpose = 'login' | 'password_change' | 'email_change';

const FAILURE = {
  login: { audit: 'login_failed', error: 'invalid_credentials' },
  password_change: { audit: 'password_change_failed', error: 'current_password_incorrect' },
  email_change: { audit: 'email_change_failed', error: 'current_password_incorrect' },
} as const satisfies Record<PasswordPurpose, { audit: string; error: string }>;

export interface PasswordAttempt {
  purpose: PasswordPurpose;
  /** The account part of the throttle key: the address typed at login, the account's address otherwise. */
  email: string;
  password: string;
  meta: RequestMeta;
  /** The signed-in user and session asking (not at login), for the audit rows. */
  userId?: string;
  sessionId?: string;
}

/** What the guarded check compares against, read inside the guess (so an unknown account costs the same). */
export interface StoredPassword {
  userId: string | null;
  passwordHash: string | null;
}

export class PasswordGuard {
  constructor(
    private readonly db: PrismaClient,
    private readonly passwords: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly clock: Clock,
  ) {}

  /**
   * Verifies the password against what `load` returns, inside the throttle's slot. Throws too_many_requests
   * while the (account, address) pair is locked or another guess holds it, the purpose's error when the
   * password is wrong (or the account is unknown, or has no password); returns the stored row when it matched.
   */
  async check(attempt: PasswordAttempt, load: () => Promise<StoredPassword>): Promise<StoredPassword> {
    const { purpose, password, meta } = attempt;
    let stored: StoredPassword = { userId: null, passwordHash: null };
    const outcome = await this.throttle.guess(attempt.email, meta.ip, async () => {
      stored = await load();
      return stored.passwordHash
        ? this.passwords.verify(stored.passwordHash, password)
        : this.passwords.verifyAgainstDummy(password);
    });
    const found = stored as StoredPassword;
    if (outcome.throttled) {
      await audit(this.db, meta, this.clock.now(), {
        type: 'login_throttled',
        userId: attempt.userId ?? null,
        sessionId: attempt.sessionId ?? null,
        reason: `${purpose}: retry after ${outcome.retryAfter} s`,
      });
      throw new DomainError('too_many_requests', {
        retryAfter: outcome.retryAfter,
        detail: `${purpose} password check throttled for this account and address`,
      });
    }
    if (outcome.ok && found.passwordHash) return found;
    await audit(this.db, meta, this.clock.now(), {
      type: FAILURE[purpose].audit,
      userId: found.userId ?? attempt.userId ?? null,
      sessionId: attempt.sessionId ?? null,
      reason: found.userId ? (found.passwordHash ? 'wrong_password' : 'no_password') : 'unknown_user',
    });
    throw new DomainError(FAILURE[purpose].error);
  }

  /** Forgets the failures of (account, address): a password reset from there proved the owner. */
  async forget(email: string, ip: string): Promise<void> {
    await this.throttle.forget(email, ip);
  }
}
