// The built-in pages' second step (/oauth/authorize and /oauth/device): after the password of an account with a
// second factor, this page asks for a code of the authenticator app or a recovery code. An account whose only
// second factor is a passkey is told that this page (no JavaScript) cannot run WebAuthn, and offered the
// recovery code. When the account has a passkey the page also loads its one script (passkey-step-script.ts),
// which shows a "Use a passkey" button, hidden until then, so the page without JavaScript stays as it is.
// Built from the same parts
// as the sign-in page (pages.ts: no JavaScript, labels on every field, the page's CSP, CSRF in a hidden field);
// the mfa_token travels in a hidden field of a POST body, never in a URL.
import type { FastifyReply } from 'fastify';
import { hidden, html, send } from './pages.js';
import { PASSKEY_STEP_SCRIPT_PATH } from './passkey-step-script.js';

export function secondStepPage(
  reply: FastifyReply,
  opts: {
    clientName: string;
    /** The request's hidden fields, the csrf token and the mfa_token. */
    fields: Record<string, string>;
    factors: { id: string; type: string }[];
    action: string;
    error?: string;
    status?: number;
    formTarget?: string;
  },
) {
  const error = opts.error ? `<p class="error" role="alert" id="mfa-error">${html(opts.error)}</p>` : '';
  const described = opts.error ? ' aria-describedby="mfa-error"' : '';
  const apps = opts.factors.filter((f) => f.type === 'totp');
  // One app: its id rides along; several: the user picks which one shows the code.
  const which =
    apps.length > 1
      ? `<label for="factor_id">Authenticator app</label><select id="factor_id" name="factor_id">${apps
          .map((f, i) => `<option value="${html(f.id)}">App ${i + 1}</option>`)
          .join('')}</select>`
      : apps.length === 1
        ? hidden({ factor_id: apps[0]!.id })
        : '';
  // A passkey needs WebAuthn, which needs a script, and these pages run none: with no app to offer, say so and
  // leave the recovery code (the account's passkey still signs in by itself, usernameless, in the client app).
  const passkey = opts.factors.some((f) => f.type === 'webauthn');
  const passkeyOnly = apps.length === 0 && passkey;
  // Shown by the script only, which also fills the status as it goes.
  const passkeyButton = passkey
    ? `
<button type="button" id="passkey-button" class="secondary" hidden>Use a passkey</button><p id="passkey-status" role="status"></p>`
    : '';
  const code = passkeyOnly
    ? `<p id="passkey-note">Your second factor is a passkey, which this page cannot use. Enter a recovery code, or sign in with your passkey in the app.</p>`
    : `<label for="code">Code from your authenticator app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="10"${described} autofocus>
<label for="recovery_code">Or a recovery code</label>`;
  return send(reply, {
    title: 'Confirm it is you',
    status: opts.status ?? 200,
    formTargets: opts.formTarget ? [opts.formTarget] : [],
    ...(passkey ? { script: PASSKEY_STEP_SCRIPT_PATH } : {}),
    body: `<h1>Confirm it is you to continue to ${html(opts.clientName)}</h1>${error}
<form method="post" action="${html(opts.action)}">${hidden(opts.fields)}${which}
${code}${passkeyOnly ? '<label for="recovery_code">Recovery code</label>' : ''}
<input id="recovery_code" name="recovery_code" type="text" autocomplete="off" spellcheck="false" maxlength="64"${passkeyOnly ? `${described} autofocus` : ''}>
<button type="submit">Continue</button>${passkeyButton}</form>`,
  });
}
