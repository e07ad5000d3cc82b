// The SPA's side of the passkey browser tests (test/system/passkeys-browser.test.ts and
// test/system/passkeys-second-factor-browser.test.ts), run inside a Chromium page:
// the setup both share (Tessera and an SPA origin on localhost, Chromium with a virtual authenticator),
// one JSON call to Tessera with the cookies, and a WebAuthn ceremony on the server's options through the standard
// JSON helpers (PublicKeyCredential.parse…OptionsFromJSON, credential.toJSON()).
import { createServer } from 'node:http';
import type { Test } from 'tap';
import { chromium, type CDPSession, type Page } from 'playwright-core';
import { freePort } from './free-port.js';
import { buildTestApp, type TestApp } from './helper.js';

/** Runs in the page: one JSON call to Tessera (credentials included, so the refresh cookie travels). */
export async function call(page: Page, api: string, path: string, body?: unknown, token?: string) {
  return page.evaluate(
    async ({ url, body, token }) => {
      const r = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        credentials: 'include',
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: r.status, body: r.status === 204 ? null : await r.json() };
    },
    { url: api + path, body, token },
  );
}

/** Runs in the page: navigator.credentials.create / get on the server's options, answered as JSON. */
export function ceremony(page: Page, kind: 'create' | 'get', options: unknown, overrideUv?: string) {
  return page.evaluate(
    async ({ kind, options, overrideUv }) => {
      try {
        const PKC = PublicKeyCredential as unknown as {
          parseCreationOptionsFromJSON(o: unknown): PublicKeyCredentialCreationOptions;
          parseRequestOptionsFromJSON(o: unknown): PublicKeyCredentialRequestOptions;
        };
        const publicKey =
          kind === 'create'
            ? PKC.parseCreationOptionsFromJSON(options)
            : PKC.parseRequestOptionsFromJSON(
                overrideUv ? { ...(options as object), userVerification: overrideUv } : options,
              );
        const credential = (await (kind === 'create'
          ? navigator.credentials.create({ publicKey: publicKey as PublicKeyCredentialCreationOptions })
          : navigator.credentials.get({ publicKey: publicKey as PublicKeyCredentialRequestOptions }))) as unknown as {
          toJSON(): unknown;
        };
        return { response: credential.toJSON() };
      } catch (err) {
        return { error: String(err) };
      }
    },
    { kind, options, overrideUv },
  );
}

/**
 * Tessera listening on http://localhost:<port> as the WebAuthn RP (RP ID localhost), an SPA origin on another
 * port allowed by CORS and WEBAUTHN_ORIGINS, and headless Chromium on the SPA's page with a virtual authenticator
 * (CTAP2, internal, resident keys, user verification); everything is torn down with the test.
 */
export async function passkeyBrowser(t: Test): Promise<{
  app: TestApp;
  api: string;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}> {
  const spaPort = await freePort();
  const apiPort = await freePort();
  const spaOrigin = `http://localhost:${spaPort}`;
  const api = `http://localhost:${apiPort}`;
  const { app } = await buildTestApp(t, {
    env: { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: spaOrigin, CORS_ORIGINS: spaOrigin, ISSUER: api },
  });
  await app.listen({ port: apiPort, host: '127.0.0.1' });
  const spa = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>SPA</title>'),
  );
  await new Promise<void>((resolve) => spa.listen(spaPort, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        spa.closeAllConnections();
        spa.close(() => resolve());
      }),
  );
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${spaOrigin}/`);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { app, api, page, cdp, authenticatorId };
}
