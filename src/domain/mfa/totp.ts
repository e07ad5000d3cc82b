// The TOTP rules, pure (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step either side for clock
// drift), so the unit tier tests them without a database: which time step a code belongs to, whether that
// step may still be taken after the factor's last accepted one (RFC 6238 §5.2: a code works once), and how a
// typed code is normalised. The statement that takes the step is in factors.ts; the arithmetic is otpauth's.
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SECONDS = 30;
const TOTP_DIGITS = 6;
const TOTP_ALGORITHM = 'SHA1';
/** Steps accepted either side of now. */
const TOTP_WINDOW = 1;
/** 160 bits, RFC 4226 §4's recommended secret length. */
const SECRET_BYTES = 20;

/** The time step of `now` (seconds since the epoch, divided by the period). */
export function timeStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * A typed code as six ASCII digits, or null when it cannot be one: full-width and other Unicode digits fold to
 * ASCII (NFKC), spaces and hyphens a user or an authenticator app puts in the middle are dropped.
 */
export function normalizeTotpCode(input: string): string | null {
  const code = input.normalize('NFKC').replace(/[\s-]/g, '');
  return /^[0-9]{6}$/.test(code) ? code : null;
}

/**
 * The time step a code was made for, within the window around `now`, or null when it matches none. A step at
 * or before `lastStep` is not returned: it was taken already (or an older code comes after a newer one).
 */
export function matchTotpStep(secretBase32: string, code: string, now: Date, lastStep: number): number | null {
  const secret = Secret.fromBase32(secretBase32);
  const current = timeStep(now);
  // Newest first: when a code matches two steps (1 in a million), the later one is taken.
  for (let step = current + TOTP_WINDOW; step >= current - TOTP_WINDOW; step--) {
    if (step <= lastStep) break;
    const expected = TOTP.generate({
      secret,
      algorithm: TOTP_ALGORITHM,
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD_SECONDS,
      timestamp: step * TOTP_PERIOD_SECONDS * 1000,
    });
    if (constantTimeEqual(expected, code)) return step;
  }
  return null;
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A new random secret, base32 (what authenticator apps take). */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The otpauth:// URI an authenticator app scans (Key Uri Format). */
export function totpUri(issuer: string, account: string, secretBase32: string): string {
  return new TOTP({
    issuer,
    label: account,
    secret: Secret.fromBase32(secretBase32),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  }).toString();
}
