// The authorization server's own pages: sign in, consent, and the error page that never redirects (the device
// flow's pages, device-pages.ts, are built from the same parts). Server-rendered HTML that works without
// JavaScript (only the second step loads one optional script), with labels on every field, a visible focus ring,
// contrast above WCAG AA, and a CSP per page: nothing loads, the one style block by nonce, forms post
// only to Tessera (and, for the redirect that follows, the client's redirect URI), and no one may frame it.
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
// Product name, logo, colours and wording: src/http/page-theme.ts (PAGES_* settings).
import type { PageTheme } from './page-theme.js';

const themeOf = (reply: FastifyReply): PageTheme => reply.server.pageTheme;

export const html = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** What each scope lets the app do, in plain words. */
export const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  profile: 'See your basic profile',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using it (until you disconnect it)',
};

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:var(--background);margin:0}
.brand{max-width:26rem;margin:2rem auto 0;display:flex;align-items:center;gap:.6rem;font-weight:600}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;border:1px solid #d4d4d8}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin-top:1rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #52525b;border-radius:4px;font:inherit}
button{margin-top:1.2rem;padding:.6rem 1.2rem;border-radius:4px;border:1px solid var(--primary);background:var(--primary);color:#fff;font:inherit;cursor:pointer}
button.secondary{background:#fff;color:var(--primary);margin-left:.5rem}
:focus-visible{outline:3px solid #b45309;outline-offset:2px}
.error{color:#991b1b;background:#fef2f2;border:1px solid #991b1b;padding:.6rem;border-radius:4px}
.host{font-family:ui-monospace,monospace}
.warning{color:#78350f;background:#fffbeb;border:1px solid #b45309;padding:.6rem;border-radius:4px}
.warning p{margin:.3rem 0}.client-id{font-family:ui-monospace,monospace;overflow-wrap:anywhere;font-weight:600}`;

export interface Page {
  title: string;
  body: string;
  /** Origins (or scheme sources) a form's redirect may go to, besides Tessera itself. */
  formTargets?: string[];
  status?: number;
  /**
   * A script of Tessera's own origin (its path) that enhances the page; the page works without it. Allowed by
   * the page's nonce rather than a hash: CSP hashes cover an external script only through an integrity
   * attribute that not every browser checks against script-src, while the nonce is fresh on every page (no-store)
   * and names exactly this one element. It may call Tessera's own JSON API (connect-src 'self').
   */
  script?: string;
}

export function send(reply: FastifyReply, page: Page) {
  const nonce = randomBytes(16).toString('base64');
  const targets = ["'self'", ...(page.formTargets ?? [])].join(' ');
  const theme = themeOf(reply);
  const images = theme.imageSource ? `; img-src ${theme.imageSource}` : '';
  const scripts = page.script ? `; script-src 'nonce-${nonce}'; connect-src 'self'` : '';
  reply
    .code(page.status ?? 200)
    .header(
      'content-security-policy',
      `default-src 'none'; style-src 'nonce-${nonce}'; form-action ${targets}; frame-ancestors 'none'; base-uri 'none'${images}${scripts}`,
    )
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8');
  return reply.send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${html(page.title)}</title><style nonce="${nonce}">${theme.colorRules}${STYLE}${theme.extraStyle}</style>${
    page.script ? `<script nonce="${nonce}" src="${html(page.script)}" defer></script>` : ''
  }</head>
<body>${theme.banner}<main>${page.body}</main></body></html>`);
}

/** Where a redirect URI points, as a CSP source: its origin, or its private-use scheme. */
export function formTargetOf(redirectUri: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(redirectUri)?.[1];
  if (scheme && scheme !== 'http' && scheme !== 'https') return `${scheme}:`;
  return new URL(redirectUri).origin;
}

export const hidden = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${html(k)}" value="${html(v)}">`)
    .join('');

export function loginPage(
  reply: FastifyReply,
  opts: {
    clientName: string;
    fields: Record<string, string>;
    email: string;
    error?: string;
    status?: number;
    /** Where the client's redirect may go after the sign-in (none for the device flow, which never redirects). */
    formTarget?: string;
    /** Where the form posts: the authorization endpoint's sign-in by default. */
    action?: string;
  },
) {
  const error = opts.error ? `<p class="error" role="alert" id="login-error">${html(opts.error)}</p>` : '';
  const say = themeOf(reply);
  return send(reply, {
    title: say.text('login_title'),
    status: opts.status ?? 200,
    formTargets: opts.formTarget ? [opts.formTarget] : [],
    body: `<h1>${say.say('login_heading', { client: opts.clientName })}</h1>${error}
<form method="post" action="${html(opts.action ?? '/oauth/authorize/login')}">${hidden(opts.fields)}
<label for="email">${say.say('email_label')}</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${html(opts.email)}"${opts.error ? ' aria-describedby="login-error"' : ''} autofocus>
<label for="password">${say.say('password_label')}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">${say.say('login_button')}</button></form>`,
  });
}

export function consentPage(
  reply: FastifyReply,
  opts: {
    clientName: string;
    redirectUri: string;
    scopes: string[];
    fields: Record<string, string>;
    formTarget: string;
    /** A client that described itself (its client_id, the URL of its metadata document): shown as unverified. */
    unverifiedClientId?: string | null;
  },
) {
  const host = formTargetOf(opts.redirectUri);
  // The whole URL, not only its host: anyone can publish a document on a shared host, and the path is part
  // of who the client claims to be. Shown as text (never a link) and wrapped anywhere, so it can't be cut.
  const unverified = opts.unverifiedClientId
    ? `<div class="warning" role="note" aria-labelledby="unverified-heading" data-unverified="true"><p><strong id="unverified-heading">Unverified application.</strong> It identified itself by the address below; its name and details come from the document published there, not from this service.</p>
<p class="client-id" data-client-id>${html(opts.unverifiedClientId)}</p>
<p>Allow only if you started this from an app you trust and this is its address.</p></div>`
    : '';
  const items = opts.scopes.map((s) => `<li>${html(SCOPE_WORDS[s] ?? `Use the API permission “${s}”`)}</li>`).join('');
  const say = themeOf(reply);
  return send(reply, {
    title: say.text('consent_title'),
    formTargets: [opts.formTarget],
    body: `<h1>${say.say('consent_heading', { client: opts.clientName })}</h1>
${unverified}<p class="host">${say.say('consent_intro', { host })}</p><ul>${items}</ul>
<form method="post" action="/oauth/authorize/consent">${hidden(opts.fields)}
<button type="submit" name="decision" value="allow">${say.say('allow_button')}</button>
<button type="submit" name="decision" value="deny" class="secondary">${say.say('deny_button')}</button></form>`,
  });
}

/** The page for a request Tessera cannot answer with a redirect (unknown client, unregistered redirect URI). */
export function errorPage(reply: FastifyReply, code: string, message: string, status = 400) {
  const say = themeOf(reply);
  return send(reply, {
    title: say.text('error_title'),
    status,
    body: `<h1>${say.say('error_heading')}</h1><p class="error" role="alert" data-code="${html(code)}">${html(message)}</p>
<p>${say.say('error_help')}</p>`,
  });
}
