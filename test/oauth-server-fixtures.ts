// Shared by the oauth-server-* tests: registering OAuth clients, PKCE pairs, and a small browser over
// app.inject that keeps cookies and fills the built-in sign-in and consent forms as a user would.
import { createHash, randomBytes } from 'node:crypto';
import type { ClientMetadataInput } from '../src/domain/oauth/client-metadata.js';
import { ManualClock, PASSWORD, type TestApp } from './helper.js';

export const meta = { ip: '127.0.0.1', requestId: 'test' };
export const NATIVE_REDIRECT = 'http://127.0.0.1/callback';
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export async function registerClient(app: TestApp, input: Partial<ClientMetadataInput> = {}) {
  return app.services.oauthClients.register(
    {
      client_name: 'Notes for Desktop',
      redirect_uris: [NATIVE_REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid profile email offline_access',
      ...input,
    },
    { kind: 'cli' },
    meta,
  );
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizeQuery(clientId: string, challenge: string, extra: Record<string, string> = {}) {
  return new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: 'http://127.0.0.1:53123/callback',
    scope: 'openid email offline_access',
    state: 'st-1',
    nonce: 'n-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  }).toString();
}

type Res = Awaited<ReturnType<TestApp['inject']>>;

/** The hidden and named fields of the first form on a page. */
export function formFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    out[m[1]!] = m[2]!
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  return out;
}

/** A browser: a cookie jar over app.inject. */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(private readonly app: TestApp) {}

  private remember(res: Res) {
    for (const c of res.cookies) {
      if (c.value === '' || (c.maxAge !== undefined && c.maxAge <= 0)) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return res;
  }

  async get(url: string, headers: Record<string, string> = {}) {
    return this.remember(
      await this.app.inject({ method: 'GET', url, cookies: Object.fromEntries(this.cookies), headers }),
    );
  }

  async post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.remember(
      await this.app.inject({
        method: 'POST',
        url,
        cookies: Object.fromEntries(this.cookies),
        headers: { ...FORM, 'sec-fetch-site': 'same-origin', ...headers },
        payload: new URLSearchParams(fields).toString(),
      }),
    );
  }

  /** Fills the sign-in form of `page`. */
  signIn(page: Res, email: string, password = PASSWORD) {
    return this.post('/oauth/authorize/login', { ...formFields(page.body), email, password });
  }

  /** Answers the consent form of `page`. */
  consent(page: Res, decision: 'allow' | 'deny' = 'allow') {
    return this.post('/oauth/authorize/consent', { ...formFields(page.body), decision });
  }
}

/** The query parameters of a redirect's Location. */
export function redirectParams(res: Res): URLSearchParams & { base: string } {
  const location = String(res.headers.location ?? '');
  const url = new URL(location);
  return Object.assign(url.searchParams, { base: `${url.origin}${url.pathname}` });
}

/** Signs a user in and consents, returning the code and the browser. */
export async function authorizeCode(
  app: TestApp,
  clientId: string,
  email: string,
  extra: Record<string, string> = {},
  browser = new Browser(app),
) {
  const { verifier, challenge } = pkce();
  let page = await browser.get(`/oauth/authorize?${authorizeQuery(clientId, challenge, extra)}`);
  if (page.statusCode === 200 && page.body.includes('/oauth/authorize/login')) page = await browser.signIn(page, email);
  if (page.statusCode === 200 && page.body.includes('/oauth/authorize/consent')) page = await browser.consent(page);
  if (page.statusCode !== 303)
    throw new Error(`authorization did not redirect: ${page.statusCode} ${page.body.slice(0, 300)}`);
  const params = redirectParams(page);
  return {
    code: params.get('code')!,
    params,
    verifier,
    browser,
    redirectUri: extra.redirect_uri ?? 'http://127.0.0.1:53123/callback',
  };
}

export function exchangeCode(
  app: TestApp,
  clientId: string,
  code: string,
  verifier: string,
  redirectUri = 'http://127.0.0.1:53123/callback',
) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: clientId,
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
    }).toString(),
  });
}

export function refreshGrant(app: TestApp, clientId: string, refreshToken: string) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: refreshToken,
    }).toString(),
  });
}

/** A browser over fetch: keeps cookies, follows nothing by itself. */
export class FetchBrowser {
  private readonly jar = new Map<string, string>();
  constructor(private readonly origin: string) {}

  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.method === 'POST' ? { origin: this.origin, 'sec-fetch-site': 'same-origin' } : {}),
      },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return res;
  }

  post(path: string, fields: Record<string, string>) {
    return this.go(`${this.origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Follows the authorization URL through sign-in and consent to the redirect; returns the Location. */
  async authorize(url: URL, email: string, password: string): Promise<string> {
    let res = await this.go(url.href);
    for (let step = 0; step < 4 && res.status === 200; step++) {
      const html = await res.text();
      if (html.includes('/oauth/authorize/login'))
        res = await this.post('/oauth/authorize/login', { ...formFields(html), email, password });
      else if (html.includes('/oauth/authorize/consent'))
        res = await this.post('/oauth/authorize/consent', { ...formFields(html), decision: 'allow' });
      else throw new Error(`unexpected page: ${html.slice(0, 200)}`);
    }
    if (res.status !== 303) throw new Error(`no redirect: ${res.status}`);
    return res.headers.get('location')!;
  }
}

/** The real time, for tests where a library outside the test stamps its requests with it. */
export class SystemClock extends ManualClock {
  override now(): Date {
    return new Date();
  }
}
