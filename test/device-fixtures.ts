// Shared by the device-flow tests: a CLI client registered for the device grant, the device's two requests
// (device authorization, token polls), and the user's side on the verification pages through the cookie-keeping
// Browser of oauth-server-fixtures.ts.
import type { ClientMetadataInput } from '../src/domain/oauth/client-metadata.js';
import { ManualClock, PASSWORD, type TestApp } from './helper.js';
import { Browser, FORM, formFields, meta } from './oauth-server-fixtures.js';

/** The wall clock, for a test whose device polls at the real interval. */
export class SystemClock extends ManualClock {
  override now(): Date {
    return new Date();
  }
}

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export async function registerDeviceClient(app: TestApp, input: Partial<ClientMetadataInput> = {}) {
  return app.services.oauthClients.register(
    {
      client_name: 'Notes CLI',
      redirect_uris: [],
      token_endpoint_auth_method: 'none',
      grant_types: [DEVICE_GRANT, 'refresh_token'],
      scope: 'openid email offline_access notes:read',
      ...input,
    },
    { kind: 'cli' },
    meta,
  );
}

export function startDevice(
  app: TestApp,
  fields: Record<string, string>,
  headers: Record<string, string> = { 'user-agent': 'notes-cli/1.0 (linux)' },
) {
  return app.inject({
    method: 'POST',
    url: '/oauth/device_authorization',
    headers: { ...FORM, ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

export function poll(app: TestApp, clientId: string, deviceCode: string) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: new URLSearchParams({ grant_type: DEVICE_GRANT, client_id: clientId, device_code: deviceCode }).toString(),
  });
}

/** A browser signed in on the verification page (the sign-in the page asks for first). */
export async function signedInBrowser(app: TestApp, email: string) {
  const browser = new Browser(app);
  const page = await browser.get('/oauth/device');
  const entry = await browser.post('/oauth/device/login', { ...formFields(page.body), email, password: PASSWORD });
  if (entry.statusCode !== 200 || !entry.body.includes('name="user_code"'))
    throw new Error(`sign-in on the verification page failed: ${entry.statusCode}`);
  return Object.assign(browser, { entry });
}

/** Enters a code on the entry page; the answer is the confirmation page (or the entry page with an error). */
export function enterCode(browser: Browser & { entry: { body: string } }, userCode: string) {
  return browser.post('/oauth/device', { ...formFields(browser.entry.body), user_code: userCode });
}

/** Signs in, enters the code, and answers the confirmation page. */
export async function decide(app: TestApp, email: string, userCode: string, decision: 'approve' | 'deny' = 'approve') {
  const browser = await signedInBrowser(app, email);
  const confirm = await enterCode(browser, userCode);
  if (!confirm.body.includes('/oauth/device/decision')) throw new Error(`no confirmation page: ${confirm.statusCode}`);
  const done = await browser.post('/oauth/device/decision', { ...formFields(confirm.body), decision });
  return { browser, confirm, done };
}
