// How strongly a session's user was authenticated: the one rule that turns "how the user signed in" into RFC 8176
// `amr` values and an `acr` level. The session row keeps its amr (set at start, read back by every refresh), so
// the access token of a refresh says what the sign-in's did.
//
//   password                       amr ["pwd"]                acr "1"
//   provider                       amr []  (idp names it)     acr "1"
//   password + TOTP                amr ["pwd","otp","mfa"]    acr "2"
//   provider + TOTP                amr ["otp","mfa"]          acr "2"
//   either + a recovery code       amr [..., "mfa"]           acr "2"   (RFC 8176 has no value of its own for it)
//   either + a passkey             amr [..., "hwk"|"swk", ("user",) "mfa"]  acr "2"
//   passkey that verified the user amr ["hwk"|"swk","user"]   acr "2"   (something held, and the user verified)
//   passkey without verification   amr ["hwk"|"swk"]          acr "1"   (swk: synced, backed up; hwk: one device)
// Tessera did not see how a provider checked the user, so a provider's sign-in adds no amr value of its own.
//
// Step-up (RFC 9470, src/domain/mfa/step-up.ts): a second factor proven later in a session adds its methods and
// "mfa" to the session's, and moves auth_time to that moment, for STEP_UP_MAX_AGE_SECONDS only; after that the
// session's tokens say again what its sign-in did (withStepUp). A raised level drops back by itself.
// A session signed in with a passkey steps up with a passkey only if it verifies the user: otherwise the same
// key, held without its PIN, would be both factors (stepUpPasskeyNeedsUserVerification).
import type { ACR_VALUES } from '@tessera/verify/contract';

/** The second step of a sign-in or a step-up (src/domain/mfa/): a code, a recovery code, or a passkey. */
export type SecondFactor = 'otp' | 'recovery_code' | { passkey: { synced: boolean; userVerified: boolean } };

export type Acr = (typeof ACR_VALUES)[number];

/** RFC 8176 methods of a sign-in: the first step (a provider, or else the password), then any second factor. */
export function sessionAmr(idp: string | null | undefined, second?: SecondFactor | null): string[] {
  const first = idp ? [] : ['pwd'];
  if (!second) return first;
  return [...first, ...secondFactorAmr(second)];
}

/** RFC 8176 methods a second factor adds: its own ("otp", a passkey's), then "mfa". */
export function secondFactorAmr(second: SecondFactor): string[] {
  if (second === 'otp') return ['otp', 'mfa'];
  if (second === 'recovery_code') return ['mfa'];
  return [...passkeyAmr(second.passkey.synced, second.passkey.userVerified), 'mfa'];
}

/** A session's step-up, as the session row keeps it. */
export interface StepUp {
  at: Date | null | undefined;
  amr: string[] | null | undefined;
}

/**
 * What a session's tokens state at `now`: within `maxAgeSeconds` of a step-up, the sign-in's methods plus the
 * step-up's, and auth_time the step-up's; otherwise the sign-in's methods and start. The one drop-back rule.
 */
export function withStepUp(
  signIn: { amr: string[]; authTime: Date },
  stepUp: StepUp | undefined,
  now: Date,
  maxAgeSeconds: number,
): { amr: string[]; authTime: Date } {
  if (!stepUp?.at || !stepUp.amr || now.getTime() - stepUp.at.getTime() > maxAgeSeconds * 1000) return signIn;
  return { amr: [...new Set([...signIn.amr, ...stepUp.amr])], authTime: stepUp.at };
}

/** A session row's amr: the stored one, or for a session from before amr was kept, what its start implies. */
export function storedAmr(amr: string[] | null | undefined, idp: string | null | undefined): string[] {
  return amr ?? sessionAmr(idp);
}

/**
 * Whether a passkey proving a step-up of a session with this sign-in amr must verify the user: yes when the
 * sign-in was itself a passkey, which may be the same one, so possession alone would count one factor twice.
 */
export function stepUpPasskeyNeedsUserVerification(signInAmr: readonly string[]): boolean {
  return signInAmr.includes('hwk') || signInAmr.includes('swk');
}

/** RFC 8176 methods of a passkey sign-in (src/domain/passkeys/). */
export function passkeyAmr(synced: boolean, userVerified: boolean): string[] {
  return [synced ? 'swk' : 'hwk', ...(userVerified ? ['user'] : [])];
}

/** The acr level of a set of methods: "2" with two factors (mfa, or a key that verified the user), else "1". */
export function acrOf(amr: readonly string[]): Acr {
  const verifiedKey = amr.includes('user') && (amr.includes('hwk') || amr.includes('swk'));
  return amr.includes('mfa') || verifiedKey ? '2' : '1';
}
