// A listening Tessera wired to the test OpenID provider (test/federation-idp.ts), for the federation
// tests: providers `local` (not trusted for linking), `trusted` (trusted_for_linking) and `down` (an
// issuer where nothing listens). The SPA origin is only ever a redirect target: nothing serves it.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Test } from 'tap';
import { decodeJwt } from 'jose';
import { freePort } from './free-port.js';
import { buildTestApp, tempDir, type TestDatabase } from './helper.js';
import { FLOW_COOKIE } from '../src/http/oauth-flow-cookie.js';
import { IDP_CLIENT, startIdp, TestBrowser, type IdpAccount, type TestIdp } from './federation-idp.js';

export const SPA = 'http://spa.test';
export const RETURN_TO = `${SPA}/after-login`;

export interface FederationFixture {
  tessera: string;
  idp: TestIdp;
  app: Awaited<ReturnType<typeof buildTestApp>>['app'];
  db: TestDatabase;
  clock: Awaited<ReturnType<typeof buildTestApp>>['clock'];
  /** Log lines, when captureLogs was asked for. */
  rawLogs: string[];
  startUrl(provider?: string, returnTo?: string): string;
  /** Runs a browser from the start URL up to the callback (not requested). */
  toCallback(provider?: string, browser?: TestBrowser): Promise<{ browser: TestBrowser; callback: URL }>;
  /** Requests a callback URL and follows redirects until the SPA is reached; the SPA URL it lands on. */
  finish(browser: TestBrowser, callback: URL): Promise<URL>;
  /** A whole sign-in; the SPA URL it lands on and the browser (holding the refresh cookie). */
  signIn(provider?: string): Promise<{ browser: TestBrowser; landed: URL }>;
  /**
   * A signed-in user links the provider account `account` to theirs (POST /auth/oauth/:provider/link, then the
   * provider): the SPA URL it lands on.
   */
  linkIdentity(accessToken: string, account: IdpAccount, provider?: string): Promise<URL>;
  /** POST /auth/refresh over HTTP with the browser's cookies: the access token and its claims. */
  refresh(
    browser: TestBrowser,
  ): Promise<{ status: number; body: Record<string, unknown>; claims: Record<string, unknown> | null }>;
}

/** `hostname`: how the browser names Tessera (localhost, to be same-site with an SPA on localhost). */
export async function federationFixture(
  t: Test,
  opts: { env?: Record<string, string>; hostname?: string; captureLogs?: boolean } = {},
): Promise<FederationFixture> {
  const port = await freePort();
  const tessera = `http://${opts.hostname ?? '127.0.0.1'}:${port}`;
  const idp = await startIdp(['local', 'trusted'].map((id) => `${tessera}/auth/oauth/${id}/callback`));
  t.teardown(() => idp.close());
  const dir = await tempDir(t, 'tessera-idp-');
  const file = path.join(dir, 'providers.json');
  const common = { type: 'oidc', client_id: IDP_CLIENT.id, client_secret_env: 'TEST_IDP_SECRET' };
  await writeFile(
    file,
    JSON.stringify([
      { id: 'local', name: 'Local provider', issuer: idp.issuer, ...common },
      { id: 'trusted', name: 'Trusted provider', issuer: idp.issuer, trusted_for_linking: true, ...common },
      { id: 'down', name: 'Provider that is down', issuer: `http://127.0.0.1:${await freePort()}`, ...common },
    ]),
  );
  const { app, db, clock, rawLogs } = await buildTestApp(t, {
    captureLogs: opts.captureLogs ?? false,
    env: {
      ISSUER: tessera,
      PORT: String(port),
      IDENTITY_PROVIDERS_FILE: file,
      TEST_IDP_SECRET: IDP_CLIENT.secret,
      RETURN_TO_ORIGINS: SPA,
      ...opts.env,
    },
  });
  await app.listen({ port, host: '127.0.0.1' });

  const startUrl = (provider = 'local', returnTo = RETURN_TO) =>
    `${tessera}/auth/oauth/${provider}/start?return_to=${encodeURIComponent(returnTo)}`;
  const atSpa = (u: URL) => u.origin === SPA;
  const fixture: FederationFixture = {
    tessera,
    idp,
    app,
    db,
    clock,
    rawLogs,
    startUrl,
    async toCallback(provider = 'local', browser = new TestBrowser()) {
      const { url } = await browser.follow(startUrl(provider), (u) => u.pathname.endsWith('/callback') || atSpa(u));
      if (!url.pathname.endsWith('/callback')) throw new Error(`did not reach the callback: ${url.href}`);
      return { browser, callback: url };
    },
    async finish(browser, callback) {
      const { url } = await browser.follow(callback.href, atSpa);
      if (!atSpa(url)) throw new Error(`did not land on the SPA: ${url.href}`);
      return url;
    },
    async signIn(provider = 'local') {
      const { browser, callback } = await fixture.toCallback(provider);
      return { browser, landed: await fixture.finish(browser, callback) };
    },
    async linkIdentity(accessToken, account, provider = 'local') {
      const start = await app.inject({
        method: 'POST',
        url: `/auth/oauth/${provider}/link`,
        headers: { authorization: `Bearer ${accessToken}` },
        payload: { return_to: RETURN_TO },
      });
      const flow = start.cookies.find((c) => c.name === FLOW_COOKIE);
      if (start.statusCode !== 200 || !flow) throw new Error(`link start failed: ${start.statusCode} ${start.body}`);
      const browser = new TestBrowser();
      browser.jar.set(new URL(tessera).host, new Map([[FLOW_COOKIE, flow.value]]));
      idp.next = account;
      const { url } = await browser.follow(start.json().authorization_url, (u) => u.pathname.endsWith('/callback'));
      return fixture.finish(browser, url);
    },
    async refresh(browser) {
      const url = new URL(`${tessera}/auth/refresh`);
      const res = await fetch(url, { method: 'POST', headers: { cookie: browser.cookieHeader(url) } });
      browser.keep(url, res);
      const body = (await res.json()) as Record<string, unknown>;
      return {
        status: res.status,
        body,
        claims:
          typeof body.access_token === 'string' ? (decodeJwt(body.access_token) as Record<string, unknown>) : null,
      };
    },
  };
  return fixture;
}
