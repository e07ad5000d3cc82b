// The SPA's side of the passkey browser tests (test/system/passkeys-browser.test.ts and
// test/system/passkeys-second-factor-browser.test.ts), run inside a Chromium page:
// one JSON call to Tessera with the cookies, and a WebAuthn ceremony on the server's options through the standard
// JSON helpers (PublicKeyCredential.parse…OptionsFromJSON, credential.toJSON()).
import type { Page } from 'playwright-core';

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
