// Signing in with a passkey: the options for navigator.credentials.get() and the check of its answer, for both
// uses: a usernameless sign-in (the passkey says who the user is) and a second factor after a password, where
// the user is known and the passkey must be theirs (verifyForUser, what the MFA step calls).
//
// What a verified answer means: the user's authenticator signed this challenge (spent on first use) for this
// relying party, from one of its origins. The signature counter moves forward by one compare-and-swap; a
// counter that does not move forward is audited (a copied authenticator would show it) and refused only for a
// credential bound to one device: synced passkeys share a key between devices whose counters can't agree.
// Whether the authenticator verified the user (PIN, biometrics) is reported, not assumed: the session's amr
// says "user" only then (session-lifecycle.ts), and a sign-in whose options required it refuses an answer
// without it.
//
// A refused usernameless sign-in is counted per address only (the route's rate limit), never in the account's
// second-factor failure budget: a passkey's signature cannot be guessed, so a refusal proves nothing about the
// account, and a credential id is no secret (it is sent to every page that asks for the passkey). Counting it per
// account let whoever knew a victim's credential id lock the victim's second step with refused answers. The
// account's budget stays for the second step after a password (its caller, mfa/second-step.ts, counts it).
import type {
  verifyAuthenticationResponse,
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { webauthnLibrary } from './webauthn-library.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import {
  CHALLENGE_TTL_SECONDS,
  type ClaimedChallenge,
  type PasskeyChallenges,
  type UserVerification,
} from './challenges.js';
import { userHandleText, type PasskeySettings } from './passkey-settings.js';

/** A verified passkey answer: whose it was and what it proved (the StartMethod of a passkey session). */
export interface VerifiedPasskey {
  userId: string;
  /** The passkey's row id (its id in GET /auth/passkeys). */
  passkeyId: string;
  /** A passkey that may be synced between devices (amr swk) rather than bound to one (hwk). */
  synced: boolean;
  /** The authenticator verified the user (PIN, biometrics): with possession, two factors. */
  userVerified: boolean;
}

// The counter moves only forward; both 0 is an authenticator that keeps no counter (allowed, and stays 0).
const COUNTER_CAS = `
UPDATE webauthn_credentials SET counter = $2::bigint, last_used_at = $3::timestamptz, backed_up = $4
WHERE id = $1::uuid AND (counter < $2::bigint OR (counter = 0 AND $2::bigint = 0))
RETURNING id`;

type StoredPasskey = NonNullable<Awaited<ReturnType<PrismaClient['webauthnCredential']['findUnique']>>>;

const TOUCH = `UPDATE webauthn_credentials SET last_used_at = $2::timestamptz, backed_up = $3 WHERE id = $1::uuid`;

export class PasskeyAssertions {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly challenges: PasskeyChallenges,
    private readonly settings: PasskeySettings,
    private readonly clock: Clock,
  ) {}

  /**
   * The options for navigator.credentials.get(), and the id of their challenge. Without `userId`: a usernameless
   * sign-in (any discoverable passkey of this site). With it: a second factor for that user, offering only
   * their passkeys (verifyForUser accepts no other), its challenge bound to `binding` (what it completes).
   */
  async options(
    userVerification: UserVerification,
    userId?: string,
    binding?: string,
  ): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    const allow = userId
      ? (
          await this.db.webauthnCredential.findMany({
            where: { userId },
            select: { credentialId: true, transports: true },
          })
        ).map((p) => ({ id: p.credentialId, transports: p.transports }))
      : undefined;
    const options = await (await webauthnLibrary()).generateAuthenticationOptions({
      rpID: this.settings.rpId,
      userVerification,
      timeout: CHALLENGE_TTL_SECONDS * 1000,
      ...(allow ? { allowCredentials: allow } : {}),
    });
    const challengeId = await this.challenges.issue(
      'authentication',
      userId ?? null,
      options.challenge,
      userVerification,
      binding ?? null,
    );
    return { challengeId, options };
  }

  /** A usernameless sign-in: the answer to a challenge issued without a user; the passkey names the user. */
  async signIn(challengeId: string, response: AuthenticationResponseJSON, meta: RequestMeta): Promise<VerifiedPasskey> {
    return this.verify(challengeId, response, meta, null, null);
  }

  /**
   * A passkey as the second factor of `userId` (after their password): the challenge must have been issued for
   * this user and `binding` (options(uv, userId, binding)), and the passkey must be theirs. Spends the
   * challenge whatever the outcome.
   * Throws DomainError passkey_challenge_invalid, passkey_sign_in_failed, passkey_user_verification_required
   * or passkey_counter_invalid.
   */
  async verifyForUser(
    userId: string,
    challengeId: string,
    response: AuthenticationResponseJSON,
    meta: RequestMeta,
    binding: string,
  ): Promise<VerifiedPasskey> {
    return this.verify(challengeId, response, meta, userId, binding);
  }

  private async verify(
    challengeId: string,
    response: AuthenticationResponseJSON,
    meta: RequestMeta,
    forUser: string | null,
    binding: string | null,
  ): Promise<VerifiedPasskey> {
    const claimed = await this.challenges.claim(challengeId, 'authentication');
    if (claimed.userId !== forUser || claimed.binding !== binding)
      throw new DomainError('passkey_challenge_invalid', { detail: 'challenge issued for another sign-in' });
    const now = this.clock.now();
    const stored = await this.db.webauthnCredential.findUnique({ where: { credentialId: String(response.id) } });
    const refuse = async (code: 'passkey_sign_in_failed' | 'passkey_user_verification_required', why: string) => {
      await audit(this.db, meta, now, {
        type: 'passkey_sign_in_failed',
        userId: stored?.userId ?? forUser,
        reason: stored ? `passkey=${stored.id} ${why}` : why,
      });
      return new DomainError(code, { detail: `passkey refused: ${why}` });
    };
    if (!stored || (forUser !== null && stored.userId !== forUser))
      throw await refuse('passkey_sign_in_failed', 'unknown credential');
    return this.check(stored, claimed, response, refuse, meta, now);
  }

  /** The answer against the stored passkey: its user handle, signature, user verification and counter. */
  private async check(
    stored: StoredPasskey,
    claimed: ClaimedChallenge,
    response: AuthenticationResponseJSON,
    refuse: (
      code: 'passkey_sign_in_failed' | 'passkey_user_verification_required',
      why: string,
    ) => Promise<DomainError>,
    meta: RequestMeta,
    now: Date,
  ): Promise<VerifiedPasskey> {
    // A discoverable credential returns the user handle it was made with: it must be this passkey's owner's.
    const handle = response.response?.userHandle;
    if (handle && handle !== userHandleText(stored.userId)) throw await refuse('passkey_sign_in_failed', 'user handle');
    let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>['authenticationInfo'];
    try {
      const verified = await (await webauthnLibrary()).verifyAuthenticationResponse({
        response,
        expectedChallenge: claimed.challenge,
        expectedOrigin: this.settings.origins,
        expectedRPID: this.settings.rpId,
        // The counter rule is ours (below): the library's would refuse synced passkeys too.
        credential: {
          id: stored.credentialId,
          publicKey: stored.publicKey,
          counter: 0,
          transports: stored.transports as never,
        },
        requireUserVerification: false,
      });
      if (!verified.verified) throw new Error('not verified');
      info = verified.authenticationInfo;
    } catch (err) {
      throw await refuse('passkey_sign_in_failed', `assertion: ${String(err).slice(0, 200)}`);
    }
    if (claimed.userVerification === 'required' && !info.userVerified)
      throw await refuse('passkey_user_verification_required', 'user not verified');
    const moved = await this.sql.query(COUNTER_CAS, [
      stored.id,
      info.newCounter,
      now.toISOString(),
      info.credentialBackedUp,
    ]);
    if (moved.length === 0) {
      const singleDevice = stored.deviceType === 'singleDevice';
      await audit(this.db, meta, now, {
        type: 'passkey_counter_regressed',
        userId: stored.userId,
        reason: `passkey=${stored.id} counter=${info.newCounter} ${singleDevice ? 'refused' : 'allowed (synced)'}`,
      });
      if (singleDevice)
        throw new DomainError('passkey_counter_invalid', { detail: 'signature counter went backwards' });
      await this.sql.query(TOUCH, [stored.id, now.toISOString(), info.credentialBackedUp]);
    }
    return {
      userId: stored.userId,
      passkeyId: stored.id,
      synced: info.credentialDeviceType === 'multiDevice' || info.credentialBackedUp,
      userVerified: info.userVerified,
    };
  }
}
