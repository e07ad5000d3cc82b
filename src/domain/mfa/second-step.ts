// The second step of a sign-in. When the first step (a password, or a provider) succeeds for an account with an
// active factor, no session starts: the user gets an mfa_token (32 random bytes; only its SHA-256 is stored), good
// for CHALLENGE_SECONDS, and completes the sign-in with a factor's code or a recovery code. The session then starts
// through the one lifecycle (sessions/session-lifecycle.ts), its amr saying which second factor was used.
//
// Guessing is bounded twice, each bound ONE atomic statement taken BEFORE the code is checked:
//   - per challenge: `attempts < PER_CHALLENGE` is claimed with the attempt; after 5 the mfa_token is dead;
//   - per account, across challenges, factors and usernameless passkey sign-ins: the one failure budget
//     (failure-budget.ts). A new password sign-in makes a new challenge but does not touch the account's count.
// So 30 wrong codes sent at once are 30 claims, of which at most the budget get evaluated. The address limit is
// the route's rate limit. The mfa_token is completed by one `UPDATE … WHERE used_at IS NULL`: a second request
// with another valid code finds it used.
//
// A passkey answers the step too (listed with type "webauthn", alone or beside an app): its challenge comes from
// passkeyOptions(mfa_token), is bound to that sign-in, and its answer is one more kind of proof, spent once and
// counted in the same budget.
// `prove` (the budget, the check, the notices) is also what a step-up inside a session uses (step-up.ts).
import { createHash, randomBytes } from 'node:crypto';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import type { RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { SecondFactor } from '../sessions/assurance.js';
import {
  RotationError,
  SecondFactorRequired,
  type IssuedSession,
  type SessionLifecycle,
} from '../sessions/session-lifecycle.js';
import type { Factors } from './factors.js';
import type { FailureBudget } from './failure-budget.js';
import type { RecoveryCodes } from './recovery-codes.js';
import type { PasskeyAssertions } from '../passkeys/passkey-assertion.js';
import type { UserVerification } from '../passkeys/challenges.js';

const CHALLENGE_SECONDS = 5 * 60;
const PER_CHALLENGE = 5;

/** The type a passkey has in a challenge's list of factors. */
const PASSKEY_FACTOR = 'webauthn';

/** What the first step proved. */
export type FirstStep = { kind: 'password'; verifiedHash: string } | { kind: 'provider'; idp: string };

/** What the user offers as the second step. */
export type SecondStepProof =
  | { kind: 'totp'; factorId: string; code: string }
  | { kind: 'recovery_code'; code: string }
  /** The answer to the options of passkeyOptions (or of a step-up's), under their challenge_id. */
  | { kind: 'passkey'; challengeId: string; response: AuthenticationResponseJSON };

/** A proof that passed: which second factor it was, and after a recovery code how many are left. */
export interface Proven {
  factor: SecondFactor;
  remaining?: number;
}

export interface Challenge {
  mfaToken: string;
  factors: { id: string; type: string }[];
}

export interface Completed {
  session: IssuedSession;
  /** After a recovery code: how many unused ones are left. */
  recoveryCodesRemaining?: number;
}

const hashOf = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');

const CLAIM_ATTEMPT = `
UPDATE mfa_challenges SET attempts = attempts + 1
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz AND attempts < ${PER_CHALLENGE}
RETURNING user_id::text AS user_id, idp, password_fingerprint`;

const COMPLETE = `
UPDATE mfa_challenges SET used_at = $2::timestamptz WHERE token_hash = $1 AND used_at IS NULL RETURNING token_hash`;

/**
 * Whether the user whose id is `userId` (SQL) has a second factor, as factorsOf counts them (an app confirmed,
 * or, when passkeys are on, a passkey that verified the user), as a boolean expression for a statement that
 * reads the account anyway: the login's read of the user (src/domain/accounts/accounts.ts).
 */
export function hasFactorSql(userId: string, passkeys: boolean): string {
  const apps = `EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = ${userId} AND f.confirmed_at IS NOT NULL)`;
  if (!passkeys) return `(${apps})`;
  return `(${apps} OR EXISTS (SELECT 1 FROM webauthn_credentials c WHERE c.user_id = ${userId} AND c.user_verified))`;
}

export class SecondStep {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly factors: Factors,
    private readonly recoveryCodes: RecoveryCodes,
    private readonly lifecycle: SessionLifecycle,
    private readonly budget: FailureBudget,
    private readonly clock: Clock,
    /** Passkeys as a second factor, when WEBAUTHN_RP_ID is set. */
    private readonly passkeys?: PasskeyAssertions,
  ) {}

  /**
   * The account's second factors, apps (TOTP) first, then its passkeys that count as one (type "webauthn"): a
   * passkey counts when the authenticator verified the user as it was registered (user_verified). Such a key can
   * always prove a step-up, even in a session it signed in itself; a key without user verification could not, so
   * it stays a way to sign in (one factor) and asks nothing of a password sign-in. Any one of them makes a
   * sign-in ask for a second step, and sensitive acts for a step-up.
   */
  async factorsOf(userId: string): Promise<{ id: string; type: string }[]> {
    const apps = (await this.factors.list(userId)).map((f) => ({ id: f.id, type: f.type }));
    if (!this.passkeys) return apps;
    const keys = await this.db.webauthnCredential.findMany({
      where: { userId, userVerified: true },
      select: { id: true },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return [...apps, ...keys.map((k) => ({ id: k.id, type: PASSKEY_FACTOR }))];
  }

  /** Whether the account has a second factor: then sign-ins have a second step, and sensitive acts a step-up. */
  async hasFactor(userId: string): Promise<boolean> {
    return (await this.factorsOf(userId)).length > 0;
  }

  /**
   * The options for navigator.credentials.get() that complete the sign-in of `mfaToken` with a passkey: only the
   * user's passkeys, the challenge bound to this sign-in. Asking costs no attempt; the answer does.
   */
  async passkeyOptions(
    mfaToken: string,
  ): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    const tokenHash = hashOf(mfaToken);
    const open = await this.db.mfaChallenge.findFirst({
      where: { tokenHash, usedAt: null, expiresAt: { gt: this.clock.now() } },
      select: { userId: true },
    });
    if (!open) throw new DomainError('mfa_token_invalid', { detail: 'unknown, used or expired mfa_token' });
    return this.passkeyOptionsFor(open.userId, `mfa:${tokenHash}`);
  }

  /**
   * Second-factor passkey options for `userId`, bound to `binding` (a sign-in's, or a session's step-up). With
   * `userVerification` 'required' the challenge refuses an answer that did not verify the user.
   */
  async passkeyOptionsFor(
    userId: string,
    binding: string,
    userVerification: UserVerification = 'preferred',
  ): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    if (!this.passkeys) throw new DomainError('passkeys_disabled', { detail: 'WEBAUTHN_RP_ID is not set' });
    return this.passkeys.options(userVerification, userId, binding);
  }

  /** The factors to offer again for a challenge still open (a page asking once more); none for any other token. */
  async challengeFactors(mfaToken: string): Promise<{ id: string; type: string }[]> {
    const open = await this.db.mfaChallenge.findFirst({
      where: { tokenHash: hashOf(mfaToken), usedAt: null, expiresAt: { gt: this.clock.now() } },
      select: { userId: true },
    });
    return open ? this.factorsOf(open.userId) : [];
  }

  /** After a first step: a challenge when the account has a factor, else null (start the session at once). */
  async challenge(userId: string, first: FirstStep): Promise<Challenge | null> {
    const factors = await this.factorsOf(userId);
    if (factors.length === 0) return null;
    const now = this.clock.now();
    const mfaToken = randomBytes(32).toString('base64url');
    await this.db.mfaChallenge.create({
      data: {
        tokenHash: hashOf(mfaToken),
        userId,
        idp: first.kind === 'provider' ? first.idp : null,
        passwordFingerprint: first.kind === 'password' ? hashOf(first.verifiedHash) : null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + CHALLENGE_SECONDS * 1000),
      },
    });
    return { mfaToken, factors };
  }

  /**
   * After a password was found right: the session, or the second step's challenge when the account has a factor.
   * `hasSecondFactor` comes from the login's read of the account, before the password check; the session's own
   * statement checks again, so a factor confirmed while the password was being checked is asked for, not skipped.
   */
  async afterPassword(
    user: { id: string; passwordHash: string; hasSecondFactor: boolean },
    meta: RequestMeta,
  ): Promise<{ session: IssuedSession } | { challenge: Challenge }> {
    const first = { kind: 'password', verifiedHash: user.passwordHash } as const;
    if (!user.hasSecondFactor) {
      try {
        return { session: await this.lifecycle.start(user.id, first, meta) };
      } catch (err) {
        if (!(err instanceof SecondFactorRequired)) throw err;
      }
    }
    const challenge = await this.challenge(user.id, first);
    if (challenge) return { challenge };
    try {
      // Read with a factor that is gone now: a password alone is enough again.
      return { session: await this.lifecycle.start(user.id, first, meta) };
    } catch (err) {
      // ...and one came back meanwhile: the account keeps changing under this sign-in, which is refused.
      if (err instanceof SecondFactorRequired) throw new RotationError('credentials_changed');
      throw err;
    }
  }

  /** Completes a sign-in with its second step: the session, started, or a DomainError. */
  async complete(mfaToken: string, proof: SecondStepProof, meta: RequestMeta): Promise<Completed> {
    const now = this.clock.now();
    const tokenHash = hashOf(mfaToken);
    const [challenge] = await this.sql.query<{
      user_id: string;
      idp: string | null;
      password_fingerprint: string | null;
    }>(CLAIM_ATTEMPT, [tokenHash, now.toISOString()]);
    if (!challenge) throw new DomainError('mfa_token_invalid', { detail: 'unknown, used, expired or spent mfa_token' });
    const userId = challenge.user_id;
    // The first step must still hold before the proof is spent on it: a recovery code (or a TOTP step) used on a
    // sign-in that can no longer finish would be gone for nothing. The session's start checks it again, atomically.
    const first = await this.firstStep(userId, challenge);
    const second = await this.prove(userId, proof, meta, `mfa:${tokenHash}`);
    const [done] = await this.sql.query<{ token_hash: string }>(COMPLETE, [tokenHash, this.clock.now().toISOString()]);
    if (!done) throw new DomainError('mfa_token_invalid', { detail: 'mfa_token completed by another request' });

    const session = await this.lifecycle.start(userId, { ...first, secondFactor: second.factor }, meta);
    if (second.remaining === undefined) return { session };
    await this.recoveryCodes.announce(userId, second.remaining, meta, session.sessionId);
    return { session, recoveryCodesRemaining: second.remaining };
  }

  /**
   * A second factor of `userId`, checked under the account's one failure budget: the budget is claimed first
   * (mfa_locked when it is spent), a refusal is counted and audited (mfa_code_invalid, or the passkey's own
   * code), a success clears the count. `binding`: what a passkey's challenge must have been issued for.
   */
  async prove(userId: string, proof: SecondStepProof, meta: RequestMeta, binding: string): Promise<Proven> {
    const failures = await this.budget.claim(userId);
    const second = await this.check(userId, proof, meta, binding);
    if (second instanceof DomainError || !second) {
      await this.budget.failed(userId, failures, meta);
      throw second ?? new DomainError('mfa_code_invalid', { detail: 'second factor refused' });
    }
    await this.budget.succeeded(userId);
    return second;
  }

  /** Checks a proof for the user: null (or a passkey's refusal) when it does not hold. */
  private async check(
    userId: string,
    proof: SecondStepProof,
    meta: RequestMeta,
    binding: string,
  ): Promise<Proven | DomainError | null> {
    if (proof.kind === 'totp')
      return (await this.factors.takeTotp(userId, proof.factorId, proof.code)) ? { factor: 'otp' } : null;
    if (proof.kind === 'passkey') {
      if (!this.passkeys) return new DomainError('passkeys_disabled', { detail: 'WEBAUTHN_RP_ID is not set' });
      try {
        const key = await this.passkeys.verifyForUser(userId, proof.challengeId, proof.response, meta, binding);
        return { factor: { passkey: { synced: key.synced, userVerified: key.userVerified } } };
      } catch (err) {
        if (err instanceof DomainError) return err;
        throw err;
      }
    }
    const remaining = await this.recoveryCodes.spend(userId, proof.code);
    return remaining === null ? null : { factor: 'recovery_code', remaining };
  }

  /**
   * The first step again, as the lifecycle re-checks it (the session starts only over this same hash): a password
   * changed since the challenge opens nothing.
   */
  private async firstStep(
    userId: string,
    challenge: { idp: string | null; password_fingerprint: string | null },
  ): Promise<{ kind: 'provider'; idp: string } | { kind: 'password'; verifiedHash: string }> {
    if (challenge.idp) return { kind: 'provider', idp: challenge.idp };
    const user = await this.db.user.findUnique({ where: { id: userId }, select: { passwordHash: true } });
    if (!user?.passwordHash || hashOf(user.passwordHash) !== challenge.password_fingerprint)
      throw new DomainError('mfa_token_invalid', { detail: 'the password changed since the first step' });
    return { kind: 'password', verifiedHash: user.passwordHash };
  }
}
