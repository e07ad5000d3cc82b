// An administrator resets a user's second factors: the way back for someone who lost their authenticator and
// their recovery codes. One transaction removes every TOTP factor (active or pending), the recovery codes and the
// failure count, lowers the assurance of the user's live sessions (their amr loses what a second step added and
// any step-up is forgotten, assurance.ts, so the next refresh, and any check of the SSO session by
// /oauth/authorize, says acr "1"), and writes the audit row and the email to the owner (notices.ts). Sessions are not ended: the user keeps working,
// at one factor, and is asked to enrol again where a role or a client demands it. Passkeys are sign-in methods
// of their own (removing them could leave no way in) and stay.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { actorName, type Actor } from '../actor.js';
import type { RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { isUuid } from '../ids.js';
import { SECOND_STEP_AMR } from '../sessions/assurance.js';
import { liveSql } from '../sessions/session-state.js';
import type { MfaNotices } from './notices.js';

export interface ResetOutcome {
  /** Active factors removed. */
  factors: number;
  /** Live sessions whose assurance dropped. */
  sessions: number;
}

// Keeps each amr's order and forgets any step-up (a factor proven later in the session); only sessions that
// had a second step, at sign-in or since, change.
const LOWER_ASSURANCE = `
UPDATE sessions s SET amr = ARRAY(
  SELECT m FROM unnest(s.amr) WITH ORDINALITY AS t(m, i) WHERE NOT (m = ANY($2::text[])) ORDER BY i),
  step_up_at = NULL, step_up_amr = NULL
WHERE s.user_id = $1::uuid AND ${liveSql('s', '$3')} AND (s.amr && $2::text[] OR s.step_up_at IS NOT NULL)
RETURNING s.id`;

export class FactorReset {
  constructor(
    private readonly db: PrismaClient,
    private readonly notices: MfaNotices,
    private readonly clock: Clock,
  ) {}

  async reset(userId: string, actor: Actor, meta: RequestMeta): Promise<ResetOutcome> {
    if (!isUuid(userId)) throw new DomainError('not_found', { detail: 'no such user' });
    // One's own factors go through DELETE /auth/mfa/factors/{id}, which asks for a step-up: an admin token
    // alone (a stolen one, or a sign-in without the factor) must not strip its own account's second factor.
    if (actor.kind === 'user' && actor.id === userId)
      throw new DomainError('mfa_reset_own_account', { detail: 'an admin reset of the caller’s own account' });
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      const [user] = await tx.$queryRaw<{ id: string }[]>`
        SELECT id::text AS id FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
      if (!user) throw new DomainError('not_found', { detail: 'no such user' });
      const removed = await tx.$queryRaw<{ confirmed: boolean }[]>`
        DELETE FROM mfa_factors WHERE user_id = ${userId}::uuid AND type = 'totp'
        RETURNING confirmed_at IS NOT NULL AS confirmed`;
      await tx.$executeRaw`DELETE FROM mfa_recovery_codes WHERE user_id = ${userId}::uuid`;
      await tx.$executeRaw`DELETE FROM mfa_guards WHERE user_id = ${userId}::uuid`;
      const lowered = await tx.$queryRawUnsafe<{ id: string }[]>(
        LOWER_ASSURANCE,
        userId,
        [...SECOND_STEP_AMR],
        now.toISOString(),
      );
      const factors = removed.filter((r) => r.confirmed).length;
      await this.notices.record(
        tx,
        {
          audit: 'mfa_factors_reset',
          mail: 'mfa_factor_removed',
          userId,
          reason: `by=${actorName(actor)} factors=${factors} sessions=${lowered.length}`,
          vars: { factor: 'every authenticator app and recovery code', by: 'by an administrator' },
        },
        meta,
        now,
      );
      return { factors, sessions: lowered.length };
    });
  }
}
