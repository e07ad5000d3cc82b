// The challenges of passkey ceremonies, kept server-side. The SPA is often on another site than the API, so a
// cookie would be a third-party one that browsers drop: the options response hands out an opaque id instead,
// and the verify request brings it back. A challenge belongs to one ceremony (registration or sign-in), lives
// five minutes and is spent by its first use, whether that verification then succeeds or fails: the claim is
// one UPDATE, so of any number of verifies racing with one id, exactly one gets the challenge. A challenge of a
// second step is also bound to what it completes (a sign-in's mfa_token, a session's step-up): `binding`.
import { randomBytes } from 'node:crypto';
import type { Sql } from '../../db/sql.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { batches } from '../batches.js';

export type Ceremony = 'registration' | 'authentication';
export type UserVerification = 'required' | 'preferred';

/** How long the options of a ceremony stay usable. */
export const CHALLENGE_TTL_SECONDS = 300;

/** A challenge as its one claim hands it back. */
export interface ClaimedChallenge {
  /** The user the ceremony is for; null: a usernameless sign-in (the passkey will say who). */
  userId: string | null;
  challenge: string;
  userVerification: UserVerification;
  /** What a second-step challenge completes ("mfa:…", "step_up:…"); null for the others. */
  binding: string | null;
}

const INSERT = `
INSERT INTO webauthn_challenges (id, ceremony, user_id, challenge, user_verification, created_at, expires_at, binding)
VALUES ($1, $2, $3::uuid, $4, $5, $6::timestamptz, $7::timestamptz, $8)`;

// Spent whatever follows: a failed verification does not leave the challenge for another try.
const CLAIM = `
UPDATE webauthn_challenges SET consumed_at = $2::timestamptz
WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2::timestamptz
RETURNING ceremony, user_id::text AS user_id, challenge, user_verification, binding`;

// Expired challenges, spent or not, are of no further use (a spent one is refused as expired after that too).
const PURGE = `
DELETE FROM webauthn_challenges WHERE id IN (
  SELECT id FROM webauthn_challenges WHERE expires_at < $1::timestamptz LIMIT $2
) RETURNING 1 AS gone`;

export class PasskeyChallenges {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** Stores a ceremony's challenge; returns the opaque id the options response carries. */
  async issue(
    ceremony: Ceremony,
    userId: string | null,
    challenge: string,
    uv: UserVerification,
    binding: string | null = null,
  ): Promise<string> {
    const id = randomBytes(24).toString('base64url');
    const now = this.clock.now();
    const expires = new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000);
    await this.sql.query(INSERT, [
      id,
      ceremony,
      userId,
      challenge,
      uv,
      now.toISOString(),
      expires.toISOString(),
      binding,
    ]);
    return id;
  }

  /**
   * Spends the challenge `id` for `ceremony`: passkey_challenge_invalid when it is unknown, expired, already
   * spent, or of the other ceremony (spent all the same: an id is tried once).
   */
  async claim(id: string, ceremony: Ceremony): Promise<ClaimedChallenge> {
    const [row] = await this.sql.query<{
      ceremony: string;
      user_id: string | null;
      challenge: string;
      user_verification: UserVerification;
      binding: string | null;
    }>(CLAIM, [id, this.clock.now().toISOString()]);
    if (!row || row.ceremony !== ceremony)
      throw new DomainError('passkey_challenge_invalid', { detail: row ? 'challenge of another ceremony' : undefined });
    return {
      userId: row.user_id,
      challenge: row.challenge,
      userVerification: row.user_verification,
      binding: row.binding,
    };
  }

  /** Deletes expired challenges in bounded batches (the purge job); returns how many went. */
  async purge(batchSize = 500, maxBatches = 100): Promise<number> {
    const now = this.clock.now().toISOString();
    return batches(batchSize, maxBatches, async () => (await this.sql.query(PURGE, [now, batchSize])).length);
  }
}
