// The verification pages of the device authorization grant (RFC 8628 §3.3), built like the sign-in and consent
// pages (pages.ts: no JavaScript, a strict CSP per page, labelled fields, a CSRF token in every form): enter the
// code, see what is asking and from where, then Approve or Deny. The decision is always a separate, explicit
// step, even when the link carried the code (§5.4, device-code phishing: a code someone sent you is shown with
// the device's address and age, and nothing is approved without the button).
import type { FastifyReply } from 'fastify';
import { SCOPE_WORDS, hidden, html, send } from './pages.js';
import { displayUserCode } from '../domain/oauth/user-codes.js';

export function deviceEntryPage(
  reply: FastifyReply,
  opts: { fields: Record<string, string>; userCode: string; error?: string; status?: number },
) {
  const error = opts.error ? `<p class="error" role="alert" id="code-error">${html(opts.error)}</p>` : '';
  return send(reply, {
    title: 'Connect a device',
    status: opts.status ?? 200,
    body: `<h1>Connect a device</h1>${error}
<p>Enter the code your device shows. Next you will see what is asking for access, and can approve or deny it.</p>
<form method="post" action="/oauth/device">${hidden(opts.fields)}
<label for="user_code">Code</label>
<input id="user_code" name="user_code" type="text" inputmode="text" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="16" required placeholder="XXXX-XXXX" value="${html(opts.userCode)}"${opts.error ? ' aria-describedby="code-error"' : ''} autofocus>
<button type="submit">Continue</button></form>`,
  });
}

/** "3 minutes ago": how long ago the device asked. */
function age(seconds: number): string {
  if (seconds < 60) return 'less than a minute ago';
  const minutes = Math.floor(seconds / 60);
  return minutes === 1 ? '1 minute ago' : `${minutes} minutes ago`;
}

export function deviceConfirmPage(
  reply: FastifyReply,
  opts: {
    fields: Record<string, string>;
    clientName: string;
    scopes: string[];
    userCode: string;
    ip: string | null;
    userAgent: string | null;
    ageSeconds: number;
  },
) {
  const items = opts.scopes.map((s) => `<li>${html(SCOPE_WORDS[s] ?? `Use the API permission “${s}”`)}</li>`).join('');
  return send(reply, {
    title: 'Approve this device?',
    body: `<h1>${html(opts.clientName)} on a device wants to access your account</h1>
<p>Approve only if you started this yourself, on a device in front of you that shows the same code. Never approve a
code someone sent you.</p>
<dl>
<dt>Code</dt><dd class="host" id="device-code">${html(displayUserCode(opts.userCode))}</dd>
<dt>Requested from</dt><dd class="host" id="device-ip">${html(opts.ip ?? 'unknown address')}</dd>
<dt>Device</dt><dd id="device-agent">${html(opts.userAgent ?? 'unknown')}</dd>
<dt>Requested</dt><dd id="device-age">${html(age(opts.ageSeconds))}</dd>
</dl>
<p>If you approve, it will be able to:</p><ul>${items}</ul>
<form method="post" action="/oauth/device/decision">${hidden(opts.fields)}
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>`,
  });
}

export function deviceDonePage(reply: FastifyReply, opts: { clientName: string; approved: boolean }) {
  return send(reply, {
    title: opts.approved ? 'Device approved' : 'Device denied',
    body: opts.approved
      ? `<h1 id="device-done">Device approved</h1><p>${html(opts.clientName)} is now connected. You can return to your device; you can disconnect it any time from your connected apps.</p>`
      : `<h1 id="device-done">Device denied</h1><p>${html(opts.clientName)} was not given access. You can close this page.</p>`,
  });
}
