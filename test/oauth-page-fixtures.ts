// What the tests of the built-in OAuth pages share: a listening Tessera on http://localhost:<port> (a secure
// context for Chromium over plain HTTP, so the __Host- cookies are kept; WebAuthn's RP when asked) with a native
// client registered, the native app itself (a loopback listener on a random port, RFC 8252, and openid-client's
// authorization request with PKCE and a nonce), and the keyboard steps of a page driven by Tab and Enter.
import { createServer } from 'node:http';
import type { Test } from 'tap';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { buildTestApp } from './helper.js';
import { freePort } from './free-port.js';
import { meta, NATIVE_REDIRECT, SystemClock } from './oauth-server-fixtures.js';

/**
 * Tessera listening on localhost with a real clock, and a public native client "Ledger" (scope openid); with
 * `passkeys`, the issuer's origin is WebAuthn's relying party too.
 */
export async function tesseraWithNativeClient(t: Test, opts: { passkeys?: boolean } = {}) {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const passkeys: Record<string, string> = opts.passkeys
    ? { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: issuer }
    : {};
  const { app, db } = await buildTestApp(t, { env: { ISSUER: issuer, ...passkeys }, clock: new SystemClock() });
  await app.listen({ port, host: '127.0.0.1' });
  const { client } = await app.services.oauthClients.register(
    {
      client_name: 'Ledger',
      redirect_uris: [NATIVE_REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      scope: 'openid',
    },
    { kind: 'cli' },
    meta,
  );
  return { app, db, issuer, client };
}

/**
 * The native app: its loopback listener records where the browser lands; openid-client (default settings, plain
 * HTTP allowed for the test's issuer) builds the authorization request, whose verifier and nonce the code
 * exchange then needs.
 */
export async function nativeApp(t: Test, issuer: string, clientId: string) {
  const landed: URL[] = [];
  const callback = createServer((req, res) => {
    // Only the redirect counts: the browser may also ask the listener for /favicon.ico.
    const url = new URL(req.url ?? '/', redirectUri);
    if (url.pathname === '/callback') landed.push(url);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('You can close this window.');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        callback.closeAllConnections();
        callback.close(() => resolve());
      }),
  );
  const redirectUri = `http://127.0.0.1:${(callback.address() as { port: number }).port}/callback`;
  const config = await oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const authorizeUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
  });
  return { landed, redirectUri, config, verifier, nonce, authorizeUrl };
}

/** The element with the keyboard focus, and whether the browser shows that focus. */
export function focused(page: Page) {
  return page.locator(':focus').evaluate((el) => ({
    id: el.id,
    tag: el.tagName.toLowerCase(),
    text: (el.textContent ?? '').trim(),
    focusVisible: el.matches(':focus-visible'),
  }));
}

/** Enter on the focused control, then waits until the page it submits to has loaded. */
export async function pressEnterAndLoad(page: Page) {
  await Promise.all([page.waitForEvent('framenavigated'), page.keyboard.press('Enter')]);
  await page.waitForLoadState('load');
}
