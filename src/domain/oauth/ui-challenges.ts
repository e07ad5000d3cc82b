// The external login and consent UI (LOGIN_UI_URL / CONSENT_UI_URL, Hydra's model): when Tessera would show its
// own sign-in or consent page, it opens a challenge instead and sends the browser to the deployment's page with
// the challenge id. Each challenge is three one-time steps, each ONE statement:
//   open      the request's parameters kept under the SHA-256 of 256 random bits, bound to the browser (the hash
//             of its __Host- flow cookie), for 10 minutes
//   decide    the UI's backend (a client with the authorization_ui scope) accepts or rejects it: an UPDATE …
//             WHERE decided_at IS NULL, so of any number of concurrent decisions exactly one is recorded; it
//             answers a fresh 256-bit verifier (its hash kept) that the UI puts in the browser's way back
//   complete  the browser comes back to Tessera: an UPDATE … WHERE completed_at IS NULL for that browser's key
//             and that verifier, so a decision finishes the authorization once, in the browser it was opened
//             for, and only after the UI sent that browser back (Hydra's login_verifier): whoever opened a
//             challenge knows its id and holds the flow cookie, so without the verifier an attacker could hand
//             the UI's link to a victim and complete the victim's sign-in in the attacker's own browser
// A completed login may still need the built-in consent page: `resume` reads the challenge again for that
// browser (like a pushed request's resume), with the session the login started.
import { createHash, randomBytes } from 'node:crypto';
import type { Sql } from '../../db/sql.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';

const CHALLENGE_TTL_SECONDS = 600;
/** How long after its completion the browser may go on with the request (the built-in consent page). */
const FLOW_SECONDS = 900;
const RANDOM = /^[A-Za-z0-9_-]{43}$/;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64url');
const idOf = (challenge: string) => (RANDOM.test(challenge) ? sha256(challenge) : null);

/** The browser's key: the hash of its flow cookie, a secret only that browser holds. */
export const flowKeyOf = (cookie: string) => sha256(`ui-challenge|${cookie}`);

export type ChallengeKind = 'login' | 'consent';
type Params = Record<string, string>;

export interface OpenChallenge {
  kind: ChallengeKind;
  clientId: string;
  params: Params;
  pushed: boolean;
  browserKey: string;
  /** The user signed in at Tessera in this browser (consent: the one asked), and that session. */
  userId: string | null;
  sessionId: string | null;
}

export interface PendingChallenge extends OpenChallenge {
  expiresAt: Date;
}

export type Decision =
  | { accept: true; subject?: string; amr?: string[]; remember: boolean }
  | { accept: false; error: string; errorDescription: string | null };

/** A challenge as its browser completes it: what was asked, and what the UI decided. */
export interface CompletedChallenge extends OpenChallenge {
  accepted: boolean;
  subject: string | null;
  amr: string[];
  remember: boolean;
  decidedBy: string;
  error: string | null;
  errorDescription: string | null;
  completedAt: Date;
}

interface Row {
  kind: ChallengeKind;
  client_id: string;
  params: Params;
  pushed: boolean;
  user_id: string | null;
  session_id: string | null;
  browser_key: string;
  expires_at: Date;
  accepted: boolean | null;
  subject: string | null;
  amr: string[] | null;
  remember: boolean;
  decided_by: string | null;
  error: string | null;
  error_description: string | null;
  completed_at: Date | null;
}

const COLUMNS = `kind, client_id, params, pushed, user_id::text AS user_id, session_id::text AS session_id, browser_key,
  expires_at, accepted, subject::text AS subject, amr, remember, decided_by, error, error_description, completed_at`;

const INSERT = `
INSERT INTO oauth_ui_challenges (id, kind, client_id, params, pushed, browser_key, user_id, session_id, created_at,
                                 expires_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::uuid, $8::uuid, $9::timestamptz, $10::timestamptz)`;

const PURGE = `DELETE FROM oauth_ui_challenges WHERE expires_at < $1::timestamptz`;

const PENDING = `
SELECT ${COLUMNS} FROM oauth_ui_challenges WHERE id = $1 AND decided_at IS NULL AND expires_at > $2::timestamptz`;

// A login is accepted only for an enabled user; the kind must be the one the UI answers.
const DECIDE = `
UPDATE oauth_ui_challenges SET decided_at = $2::timestamptz, accepted = $3, subject = $4::uuid, amr = $5::text[],
  remember = $6, error = $7, error_description = $8, decided_by = $9, verifier_hash = $10
WHERE id = $1 AND decided_at IS NULL AND expires_at > $2::timestamptz
  AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = $4::uuid AND u.disabled_at IS NULL))
  AND (NOT $3 OR (kind = 'login') = ($4::uuid IS NOT NULL))
RETURNING id`;

const COMPLETE = `
UPDATE oauth_ui_challenges SET completed_at = $3::timestamptz
WHERE id = $1 AND browser_key = $2 AND verifier_hash = $4 AND decided_at IS NOT NULL AND completed_at IS NULL
  AND expires_at > $3::timestamptz
RETURNING ${COLUMNS}`;

const RESUME = `
SELECT ${COLUMNS} FROM oauth_ui_challenges
WHERE id = $1 AND browser_key = $2 AND accepted AND completed_at > $3::timestamptz`;

const CLIENT_OF = `
SELECT client_id FROM oauth_ui_challenges WHERE id = $1 AND browser_key = $2 AND completed_at IS NULL`;

const ATTACH = `UPDATE oauth_ui_challenges SET session_id = $2::uuid WHERE id = $1`;

function opened(row: Row): OpenChallenge {
  return {
    kind: row.kind,
    clientId: row.client_id,
    params: row.params,
    pushed: row.pushed,
    browserKey: row.browser_key,
    userId: row.user_id,
    sessionId: row.session_id,
  };
}

export class UiChallenges {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /** Keeps the step for the UI; answers the challenge id (given once: only its hash is stored). */
  async open(challenge: OpenChallenge): Promise<string> {
    const now = this.clock.now();
    const random = randomBytes(32).toString('base64url');
    // Old rows go with the opens that make new ones: one bounded statement, no job needed.
    await this.sql.query(PURGE, [new Date(now.getTime() - FLOW_SECONDS * 1000).toISOString()]);
    await this.sql.query(INSERT, [
      sha256(random),
      challenge.kind,
      challenge.clientId,
      JSON.stringify(challenge.params),
      challenge.pushed,
      challenge.browserKey,
      challenge.userId,
      challenge.sessionId,
      now.toISOString(),
      new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000).toISOString(),
    ]);
    return random;
  }

  /** A challenge not yet decided nor expired, for the UI to read; DomainError authorization_challenge_invalid. */
  async pending(challenge: string): Promise<PendingChallenge> {
    const id = idOf(challenge);
    const now = this.clock.now();
    const [row] = id ? await this.sql.query<Row>(PENDING, [id, now.toISOString()]) : [];
    if (!row) throw new DomainError('authorization_challenge_invalid', { detail: 'challenge unknown or decided' });
    return { ...opened(row), expiresAt: row.expires_at };
  }

  /**
   * Records the UI's decision, once. A login is accepted with the user it authenticated (enabled), a consent
   * without one. DomainError authorization_challenge_invalid: unknown, expired, decided already, or the decision
   * does not fit the challenge's kind (checked by the caller, re-checked by the statement). Answers the verifier
   * the browser's return must carry (given once: only its hash is stored).
   */
  async decide(challenge: string, decision: Decision, decidedBy: string): Promise<string> {
    const id = idOf(challenge);
    const now = this.clock.now();
    const verifier = randomBytes(32).toString('base64url');
    const rows = id
      ? await this.sql.query(DECIDE, [
          id,
          now.toISOString(),
          decision.accept,
          decision.accept ? (decision.subject ?? null) : null,
          decision.accept ? (decision.amr ?? []) : [],
          decision.accept && decision.remember,
          decision.accept ? null : decision.error,
          decision.accept ? null : decision.errorDescription,
          decidedBy,
          sha256(verifier),
        ])
      : [];
    if (rows.length === 0)
      throw new DomainError('authorization_challenge_invalid', { detail: `decision by ${decidedBy} not recorded` });
    return verifier;
  }

  /**
   * Completes a decided challenge in the browser it was opened for, with the verifier its decision answered,
   * once; null when it can't be.
   */
  async complete(challenge: string, browserKey: string, verifier: string): Promise<CompletedChallenge | null> {
    const id = idOf(challenge);
    if (!id || !RANDOM.test(verifier)) return null;
    const [row] = await this.sql.query<Row>(COMPLETE, [
      id,
      browserKey,
      this.clock.now().toISOString(),
      sha256(verifier),
    ]);
    return row ? this.completed(row) : null;
  }

  /** The client of a challenge this browser has not completed yet (read only), or null. */
  async clientOf(challenge: string, browserKey: string): Promise<string | null> {
    const id = idOf(challenge);
    const [row] = id ? await this.sql.query<{ client_id: string }>(CLIENT_OF, [id, browserKey]) : [];
    return row?.client_id ?? null;
  }

  /** An accepted challenge this browser completed a short while ago (the next built-in page), or null. */
  async resume(challenge: string, browserKey: string): Promise<CompletedChallenge | null> {
    const id = idOf(challenge);
    if (!id) return null;
    const since = new Date(this.clock.now().getTime() - FLOW_SECONDS * 1000);
    const [row] = await this.sql.query<Row>(RESUME, [id, browserKey, since.toISOString()]);
    return row ? this.completed(row) : null;
  }

  /** Names the session a completed login started, for the pages that follow it. */
  async attachSession(challenge: string, sessionId: string): Promise<void> {
    const id = idOf(challenge);
    if (id) await this.sql.query(ATTACH, [id, sessionId]);
  }

  private completed(row: Row): CompletedChallenge {
    return {
      ...opened(row),
      accepted: row.accepted === true,
      subject: row.subject,
      amr: row.amr ?? [],
      remember: row.remember,
      decidedBy: row.decided_by ?? '',
      error: row.error,
      errorDescription: row.error_description,
      completedAt: row.completed_at!,
    };
  }
}
