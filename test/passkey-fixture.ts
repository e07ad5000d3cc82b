// Shared steps of the passkey tests: an app with passkeys on (RP ID localhost, an SPA origin on localhost), and
// the calls an SPA makes in order, through app.inject, with test/passkey-authenticator.ts as the authenticator.
import type { Test } from 'tap';
import { buildTestApp, session, type TestApp, type TestAppOptions } from './helper.js';
import { SoftAuthenticator, type AuthenticatorOptions } from './passkey-authenticator.js';

export const SPA_ORIGIN = 'http://localhost:5173';
export const PASSKEY_ENV = { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: SPA_ORIGIN };

export async function passkeyApp(t: Test, opts: TestAppOptions = {}) {
  return buildTestApp(t, { ...opts, env: { ...PASSKEY_ENV, ...opts.env } });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Registration options for the signed-in user: the response (the challenge id and options are in its body). */
export function registrationOptions(app: TestApp, accessToken: string) {
  return app.inject({ method: 'POST', url: '/auth/passkeys/registration/options', headers: bearer(accessToken) });
}

export function registrationVerify(app: TestApp, accessToken: string, body: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: '/auth/passkeys/registration/verify',
    headers: bearer(accessToken),
    payload: body,
  });
}

/** Options, then the authenticator's answer, then verify: the passkey as the server lists it. */
export async function addPasskey(app: TestApp, accessToken: string, authenticator: SoftAuthenticator, label?: string) {
  const opts = await registrationOptions(app, accessToken);
  if (opts.statusCode !== 200) throw new Error(`registration options failed: ${opts.statusCode} ${opts.body}`);
  const { challenge_id, options } = opts.json();
  const res = await registrationVerify(app, accessToken, {
    challenge_id,
    response: authenticator.register(options),
    ...(label ? { label } : {}),
  });
  if (res.statusCode !== 201) throw new Error(`registration failed: ${res.statusCode} ${res.body}`);
  return res.json().passkey as { id: string; sign_count: number; label: string };
}

/** A signed-in user (password) with one passkey on `authenticator`. */
export async function userWithPasskey(app: TestApp, opts: AuthenticatorOptions = {}) {
  const s = await session(app);
  const authenticator = new SoftAuthenticator({ origin: SPA_ORIGIN, ...opts });
  const passkey = await addPasskey(app, s.accessToken, authenticator);
  return { ...s, authenticator, passkey };
}

export async function signInOptions(app: TestApp, userVerification?: 'required' | 'preferred') {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/passkeys/sign-in/options',
    payload: userVerification ? { user_verification: userVerification } : {},
  });
  if (res.statusCode !== 200) throw new Error(`sign-in options failed: ${res.statusCode} ${res.body}`);
  return res.json() as { challenge_id: string; options: { challenge: string } };
}

export function signInVerify(app: TestApp, challengeId: string, response: unknown) {
  return app.inject({
    method: 'POST',
    url: '/auth/passkeys/sign-in/verify',
    payload: { challenge_id: challengeId, response },
  });
}

export { bearer };

/** Steps the session of `accessToken` up with the passkey on `authenticator`: the new (acr "2") access token. */
export async function stepUpWithPasskey(app: TestApp, accessToken: string, authenticator: SoftAuthenticator) {
  const opts = await app.inject({ method: 'POST', url: '/auth/step-up/passkey/options', headers: bearer(accessToken) });
  if (opts.statusCode !== 200) throw new Error(`step-up options failed: ${opts.statusCode} ${opts.body}`);
  const res = await app.inject({
    method: 'POST',
    url: '/auth/step-up',
    headers: bearer(accessToken),
    payload: { challenge_id: opts.json().challenge_id, response: authenticator.assert(opts.json().options) },
  });
  if (res.statusCode !== 200) throw new Error(`step-up failed: ${res.statusCode} ${res.body}`);
  return res.json().access_token as string;
}

/**
 * userWithPasskey, its session then stepped up with the passkey: the passkey is the account's second factor, so
 * managing passkeys (a sensitive act) needs that.
 */
export async function userWithPasskeyProven(app: TestApp, opts: AuthenticatorOptions = {}) {
  const u = await userWithPasskey(app, opts);
  return { ...u, accessToken: await stepUpWithPasskey(app, u.accessToken, u.authenticator) };
}
