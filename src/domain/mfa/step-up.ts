// Step-up (RFC 9470): a signed-in user proves a second factor again, inside the session they have, and gets an
// access token with a fresh auth_time and acr "2", without signing in again. A resource service (or Tessera's
// own sensitive acts, accounts/recent-auth.ts) that wants a recent second factor answers 401 with acr_values and
// max_age; the client comes here, then retries.
//
// The proof is any second factor of the account (an app's code, a recovery code, a passkey answering the
// options of passkeyOptions, bound to this session), checked by SecondStep.prove: the same one-per-account
// failure budget and notices as the sign-in's second step, and each code or challenge spent once (50 step-ups
// with one code at once: one succeeds). The session then remembers when and how (SessionLifecycle.stepUp); its
// tokens, the refreshed ones too, state the raised level for STEP_UP_MAX_AGE_SECONDS only
// (sessions/assurance.ts withStepUp), then drop back to what the sign-in proved.
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { RequestMeta } from '../audit.js';
import { secondFactorAmr, stepUpPasskeyNeedsUserVerification } from '../sessions/assurance.js';
import type { IssuedSession, SessionLifecycle } from '../sessions/session-lifecycle.js';
import type { RecoveryCodes } from './recovery-codes.js';
import type { SecondStep, SecondStepProof } from './second-step.js';

/** What a step-up hands the token issuer: the session with its new step-up, and recovery codes left. */
export interface SteppedUp {
  session: Omit<IssuedSession, 'refreshToken' | 'refreshExpiresAt'>;
  recoveryCodesRemaining?: number;
}

const bindingOf = (sessionId: string) => `step_up:${sessionId}`;

export class StepUps {
  constructor(
    private readonly secondStep: SecondStep,
    private readonly recoveryCodes: RecoveryCodes,
    private readonly lifecycle: SessionLifecycle,
  ) {}

  /**
   * Passkey options for a step-up of `sessionId`: the user's passkeys, the challenge bound to this session. For
   * a session signed in with a passkey they require user verification, and the challenge keeps that: an answer
   * without it is refused like a wrong one (passkey_user_verification_required, counted in the budget).
   */
  async passkeyOptions(
    userId: string,
    sessionId: string,
  ): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    const signIn = await this.lifecycle.signInAmr(userId, sessionId);
    const uv = signIn && stepUpPasskeyNeedsUserVerification(signIn) ? 'required' : 'preferred';
    return this.secondStep.passkeyOptionsFor(userId, bindingOf(sessionId), uv);
  }

  /** Proves a second factor for the session; throws what SecondStep.prove throws, or session_revoked. */
  async stepUp(userId: string, sessionId: string, proof: SecondStepProof, meta: RequestMeta): Promise<SteppedUp> {
    const proven = await this.secondStep.prove(userId, proof, meta, bindingOf(sessionId));
    const session = await this.lifecycle.stepUp(userId, sessionId, secondFactorAmr(proven.factor), meta);
    if (proven.remaining === undefined) return { session };
    await this.recoveryCodes.announce(userId, proven.remaining, meta, sessionId);
    return { session, recoveryCodesRemaining: proven.remaining };
  }
}
