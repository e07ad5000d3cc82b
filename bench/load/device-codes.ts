// Approved device codes for the device-code scenario, made over HTTP exactly as the device flow makes them:
// a public client registered for the device grant (dynamic registration, which the benchmark turns on), then
// per code the device's POST /oauth/device_authorization and a user's approval on the verification page
// (sign in, enter the code, press Approve: the pages' forms with their CSRF tokens and cookies). A device code
// is redeemed once, so a point spends a batch made beforehand instead of running for a fixed time.
// The verification page limits code entries to 5 per browser session and 20 per address per 600 s (also a
// correct one, device-guesses.ts), so the seeding user signs in again every 5 codes and claims a new address
// (X-Forwarded-For from 198.18.0.0/15, the benchmarking range; Tessera trusts it from loopback in a load run)
// every 20.
import type { Credentials, Target } from './scenarios.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PER_SESSION = 5;
const PER_ADDRESS = 20;

/** The hidden fields of the page's first form (the CSRF token, the device id of a confirmation page). */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(m[0])?.[1];
    const value = /value="([^"]*)"/.exec(m[0])?.[1];
    if (name && value !== undefined) fields[name] = value.replace(/&amp;/g, '&');
  }
  return fields;
}

/** A user's browser without JavaScript: a cookie jar and form posts from Tessera's own origin. */
class FormBrowser {
  private readonly jar = new Map<string, string>();
  constructor(
    private readonly target: Target,
    private readonly address: string,
  ) {}

  async go(path: string, form?: Record<string, string>): Promise<{ status: number; html: string }> {
    const res = await fetch(`${this.target.base}${path}`, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '),
        'x-forwarded-for': this.address,
        ...(form
          ? {
              'content-type': 'application/x-www-form-urlencoded',
              origin: this.target.base,
              'sec-fetch-site': 'same-origin',
            }
          : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: res.status, html: await res.text() };
  }
}

/** Registers the public device client the scenario redeems codes for; its client_id. */
export async function registerDeviceClient(target: Target): Promise<string> {
  const res = await fetch(`${target.base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'bench device',
      redirect_uris: ['http://127.0.0.1/unused'],
      grant_types: [DEVICE_GRANT],
      token_endpoint_auth_method: 'none',
      scope: 'openid',
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as { client_id?: string };
  if (res.status !== 201 || !body.client_id)
    throw new Error(`seeding: device client registration answered ${res.status}: ${JSON.stringify(body)}`);
  return body.client_id;
}

let addressCounter = 0;
const nextAddress = () => {
  const n = addressCounter++;
  return `198.18.${(n >> 8) & 255}.${n & 255}`;
};

/** `count` device codes of `clientId`, each approved by `user` on the verification page, not yet redeemed. */
export async function approvedDeviceCodes(
  target: Target,
  clientId: string,
  user: Credentials,
  count: number,
): Promise<string[]> {
  const codes: string[] = [];
  let browser: FormBrowser | undefined;
  let address = '';
  let entry = '';
  for (let i = 0; i < count; i++) {
    if (i % PER_SESSION === 0) {
      // A new browser session (and every PER_ADDRESS codes a new address) for the next few entries.
      if (i % PER_ADDRESS === 0) address = nextAddress();
      browser = new FormBrowser(target, address);
      const page = await browser.go('/oauth/device');
      const signedIn = await browser.go('/oauth/device/login', { ...hiddenFields(page.html), ...user });
      if (signedIn.status !== 200 || !signedIn.html.includes('name="user_code"'))
        throw new Error(`seeding: sign-in on the verification page answered ${signedIn.status}`);
      entry = signedIn.html;
    }
    const started = await fetch(`${target.base}/oauth/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: clientId, scope: 'openid' }).toString(),
      signal: AbortSignal.timeout(30_000),
    });
    const grant = (await started.json()) as { device_code?: string; user_code?: string };
    if (started.status !== 200 || !grant.device_code || !grant.user_code)
      throw new Error(`seeding: device authorization answered ${started.status}`);
    const confirm = await browser!.go('/oauth/device', { ...hiddenFields(entry), user_code: grant.user_code });
    if (!confirm.html.includes('/oauth/device/decision'))
      throw new Error(`seeding: entering the user code answered ${confirm.status}`);
    const done = await browser!.go('/oauth/device/decision', { ...hiddenFields(confirm.html), decision: 'approve' });
    if (done.status !== 200) throw new Error(`seeding: approving the device answered ${done.status}`);
    entry = (await browser!.go('/oauth/device')).html;
    codes.push(grant.device_code);
  }
  return codes;
}

/** The form body of one redemption at /oauth/token. */
export const redemptionBody = (clientId: string, deviceCode: string) =>
  new URLSearchParams({ grant_type: DEVICE_GRANT, client_id: clientId, device_code: deviceCode }).toString();
