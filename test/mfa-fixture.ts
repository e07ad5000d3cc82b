// Second-factor test steps shared by the mfa-* integration tests: enrol and confirm an authenticator app, compute
// the code an app shows at the test clock's time, and sign in through both steps.
import { Secret, TOTP } from 'otpauth';
import type { ManualClock, TestApp } from './helper.js';
import { login } from './helper.js';

/** The code an authenticator app shows for `secret` at `at`. */
export function codeAt(secret: string, at: Date): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    timestamp: at.getTime(),
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Starts an enrolment; returns the factor id and secret. */
export async function enrol(app: TestApp, accessToken: string) {
  const res = await app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: bearer(accessToken) });
  if (res.statusCode !== 201) throw new Error(`enrol failed: ${res.statusCode} ${res.body}`);
  return res.json() as { factor_id: string; secret: string; otpauth_uri: string; qr_svg: string };
}

export function confirm(app: TestApp, accessToken: string, factorId: string, code: string) {
  return app.inject({
    method: 'POST',
    url: `/auth/mfa/totp/${factorId}/confirm`,
    headers: bearer(accessToken),
    payload: { code },
  });
}

/** A user signed in with a password, with a confirmed TOTP factor; the clock is moved past the enrolment step. */
export async function withTotp(app: TestApp, clock: ManualClock, email: string) {
  const { accessToken } = await login(app, email);
  const { factor_id, secret } = await enrol(app, accessToken);
  const res = await confirm(app, accessToken, factor_id, codeAt(secret, clock.now()));
  if (res.statusCode !== 200) throw new Error(`confirm failed: ${res.statusCode} ${res.body}`);
  clock.advance(30);
  return { factorId: factor_id, secret, accessToken, recoveryCodes: res.json().recovery_codes as string[] };
}

/** The first step: the mfa_token of a password sign-in that needs a second factor. */
export async function firstStep(app: TestApp, email: string, password: string) {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
  if (res.statusCode !== 200 || res.json().mfa_required !== true)
    throw new Error(`expected a second step: ${res.statusCode} ${res.body}`);
  return res.json().mfa_token as string;
}

export function verify(app: TestApp, payload: Record<string, unknown>, remoteAddress?: string) {
  return app.inject({
    method: 'POST',
    url: '/auth/mfa/verify',
    payload,
    ...(remoteAddress ? { remoteAddress } : {}),
  });
}

/** The claims of an access token, unverified (the tests read what the issuer wrote). */
export function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8'));
}
