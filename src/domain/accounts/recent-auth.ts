// "Did the user sign in recently enough?": the one rule for acts that a recent sign-in may authorise
// without the password (changing the address without current_password, linking a provider, setting a first
// password). The sign-in time is the access token's auth_time (its session's start, or its last step-up); the
// window is RECENT_LOGIN_SECONDS. Older, or no auth_time at all: 403 reauthentication_required.
//
// For an account with a second factor, "recent" means a recent second factor: the token's auth_time within the
// window AND its level "2" (assurance.ts: amr "mfa", or a passkey that verified the user). Otherwise 401
// step_up_required with acr_values "2" and max_age (RFC 9470), which POST /auth/step-up answers. Tessera's
// sensitive acts (password, address, factors, linking, API keys, deleting the account) ask RecentAuth.stepUp.
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { acrOf } from '../sessions/assurance.js';

/** The level a step-up reaches, which sensitive acts ask for. */
const STEP_UP_ACR = '2';

/** Throws reauthentication_required unless `authTime` (seconds since the epoch) is within `maxAgeSeconds` of now. */
export function requireRecentAuth(authTime: number | undefined, now: Date, maxAgeSeconds: number): void {
  if (authTime === undefined || now.getTime() - authTime * 1000 > maxAgeSeconds * 1000)
    throw new DomainError('reauthentication_required', { detail: 'sign-in (auth_time) not recent enough' });
}

/** What the rule reads of an access token. */
export interface AuthClaims {
  auth_time?: number | undefined;
  amr?: string[] | undefined;
}

/**
 * For an account with a second factor, the same rule with the second factor in it: the access token's
 * authentication (auth_time, within `maxAgeSeconds`) must be of level "2". Without a factor on the account, a
 * recent sign-in is enough. Older, or one factor only: 401 step_up_required.
 */
export function requireRecentSecondFactor(
  claims: AuthClaims,
  hasFactor: boolean,
  now: Date,
  maxAgeSeconds: number,
): void {
  if (!hasFactor) {
    requireRecentAuth(claims.auth_time, now, maxAgeSeconds);
    return;
  }
  const recent = claims.auth_time !== undefined && now.getTime() - claims.auth_time * 1000 <= maxAgeSeconds * 1000;
  if (!recent || acrOf(claims.amr ?? []) !== STEP_UP_ACR)
    throw new DomainError('step_up_required', {
      detail: 'no recent second factor (amr, auth_time)',
      stepUp: { acrValues: STEP_UP_ACR, maxAge: maxAgeSeconds },
    });
}

/** The rule with what it needs to know bound in: whether an account has a factor, the clock, the window. */
export class RecentAuth {
  constructor(
    private readonly hasFactor: (userId: string) => Promise<boolean>,
    private readonly clock: Clock,
    private readonly maxAgeSeconds: number,
  ) {}

  /** A sensitive act: nothing more when the account has no factor; otherwise a recent second factor. */
  async stepUp(userId: string, claims: AuthClaims): Promise<void> {
    if (await this.hasFactor(userId)) requireRecentSecondFactor(claims, true, this.clock.now(), this.maxAgeSeconds);
  }

  /** An act a recent sign-in authorises: a recent sign-in, with a second factor when the account has one. */
  async recent(userId: string, claims: AuthClaims): Promise<void> {
    requireRecentSecondFactor(claims, await this.hasFactor(userId), this.clock.now(), this.maxAgeSeconds);
  }
}
