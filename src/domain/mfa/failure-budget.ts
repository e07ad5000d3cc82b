// The one failure budget per account for proofs beyond the password: a second factor (the sign-in's second step,
// a step-up: second-step.ts). A refused usernameless passkey sign-in is not counted here but per address
// (passkeys/passkey-assertion.ts says why: it proves nothing about the account and would let anyone lock it). One row per account (mfa_guards), moved by ONE atomic statement taken BEFORE the proof is
// checked: a proof claims one failure in advance, a success gives the count back (clears it), a refusal keeps it.
// The claim that brings the count to PER_ACCOUNT locks the account's proofs for LOCK_SECONDS unless it succeeds,
// and while the lock holds no claim is granted (429 mfa_locked with Retry-After). So 50 wrong answers sent at
// once, to any number of instances on one database, are 50 claims of which at most PER_ACCOUNT get checked.
//
// Why one budget for every second factor: an app code, a recovery code and a passkey answering the second step
// all prove "the user holds their second factor"; a budget each would give an attacker more tries at it.
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import type { RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { MfaNotices } from './notices.js';

export const PER_ACCOUNT = 10;
export const LOCK_SECONDS = 15 * 60;

// One failure more, unless the account is locked; a lock that has run out starts the count again.
const CLAIM_BUDGET = `
INSERT INTO mfa_guards AS g (user_id, failures, locked_until) VALUES ($1::uuid, 1, NULL)
ON CONFLICT (user_id) DO UPDATE SET
  failures = CASE WHEN g.locked_until IS NOT NULL AND g.locked_until <= $2::timestamptz THEN 1 ELSE g.failures + 1 END,
  locked_until = CASE
    WHEN g.locked_until IS NOT NULL AND g.locked_until <= $2::timestamptz THEN NULL
    WHEN g.failures + 1 >= ${PER_ACCOUNT} THEN $2::timestamptz + ${LOCK_SECONDS} * interval '1 second'
    ELSE NULL END
WHERE g.locked_until IS NULL OR g.locked_until <= $2::timestamptz
RETURNING failures`;

export class FailureBudget {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly notices: MfaNotices,
    private readonly clock: Clock,
  ) {}

  /** Claims one try for `userId`: the count it makes (hand it to `failed`), or mfa_locked when none is left. */
  async claim(userId: string): Promise<number> {
    const [budget] = await this.sql.query<{ failures: number }>(CLAIM_BUDGET, [userId, this.clock.now().toISOString()]);
    if (!budget) throw await this.locked(userId);
    return budget.failures;
  }

  /** The try succeeded: the count starts again. */
  async succeeded(userId: string): Promise<void> {
    await this.db.mfaGuard.updateMany({ where: { userId }, data: { failures: 0, lockedUntil: null } });
  }

  /** The try was refused: its audit row, and when it used the last of the budget, the lock's row and email. */
  async failed(userId: string, failures: number, meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      await this.notices.record(tx, { audit: 'mfa_failed', userId, reason: `failures=${failures}` }, meta, now);
      // The attempt that used the last of the budget, and failed: the lock is on; tell the owner, once.
      if (failures === PER_ACCOUNT)
        await this.notices.record(
          tx,
          {
            audit: 'mfa_locked',
            mail: 'mfa_locked',
            userId,
            reason: `for=${LOCK_SECONDS}s`,
            vars: { valid_for: `${LOCK_SECONDS / 60} minutes` },
          },
          meta,
          now,
        );
    });
  }

  private async locked(userId: string): Promise<DomainError> {
    const guard = await this.db.mfaGuard.findUnique({ where: { userId } });
    const until = guard?.lockedUntil?.getTime() ?? this.clock.now().getTime() + 1000;
    const retryAfter = Math.max(1, Math.ceil((until - this.clock.now().getTime()) / 1000));
    return new DomainError('mfa_locked', { detail: 'second-factor sign-in locked for the account', retryAfter });
  }
}
