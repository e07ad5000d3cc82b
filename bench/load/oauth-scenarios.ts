// The authorization server's two grants under load, through HTTP as an OAuth client does:
//   authorization-code  each request redeems its own code (POST /oauth/token, grant_type=authorization_code, PKCE)
//   refresh-token       each connection rotates its own grant's refresh token (grant_type=refresh_token)
// A code is single-use and lives 60 s, so the codes are minted just before the point, by a signed-in browser
// at /oauth/authorize (a first-party public client: no consent page), and the point is that many exchanges
// (autocannon's `amount`) rather than a duration. Minting costs statements of its own: it is done before the
// point is measured, so the statements column shows the exchange alone. The client is registered through the
// admin API with the benchmark's service client (SERVICE_CLIENTS, scope admin).
import { createHash, randomBytes } from 'node:crypto';
import type autocannon from 'autocannon';
import type { LoadSpec } from './load.js';
import type { Credentials, Target } from './scenarios.js';

const REDIRECT_URI = 'http://127.0.0.1/callback';
/** Codes per connection and second of the point, at most MAX_CODES: minted in well under their 60 s. */
const CODES_PER_CONNECTION_SECOND = 150;
const MAX_CODES = 6000;
const FORM = 'application/x-www-form-urlencoded';

interface Minted {
  code: string;
  verifier: string;
}

const timeout = () => AbortSignal.timeout(30_000);

async function expectOk(res: Response, what: string): Promise<Response> {
  if (res.status >= 400) throw new Error(`seeding: ${what} answered ${res.status}: ${await res.text()}`);
  return res;
}

/** A first-party public OAuth client, registered through the admin API. */
async function registerClient(target: Target): Promise<string> {
  const basic = `Basic ${Buffer.from(`${target.clientId}:${target.clientSecret}`).toString('base64')}`;
  const token = await expectOk(
    await fetch(`${target.base}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': FORM },
      body: 'grant_type=client_credentials&scope=admin',
      signal: timeout(),
    }),
    'the admin token',
  );
  const { access_token: admin } = (await token.json()) as { access_token: string };
  const res = await expectOk(
    await fetch(`${target.base}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Load benchmark',
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid offline_access',
        first_party: true,
      }),
      signal: timeout(),
    }),
    'client registration',
  );
  return ((await res.json()) as { client_id: string }).client_id;
}

/** A browser signed in at /oauth/authorize: its cookies, for minting codes without the password again. */
async function signIn(target: Target, clientId: string, user: Credentials): Promise<string> {
  const first = pkce();
  const page = await expectOk(
    await fetch(authorizeUrl(target, clientId, first.challenge), { signal: timeout() }),
    'the sign-in page',
  );
  const jar = cookiesOf(page);
  const fields: Record<string, string> = {};
  for (const m of (await page.text()).matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1]!] = m[2]!.replace(/&amp;/g, '&');
  const res = await fetch(`${target.base}/oauth/authorize/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': FORM, cookie: jar, origin: target.base, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ ...fields, email: user.email, password: user.password }).toString(),
    signal: timeout(),
  });
  if (res.status !== 303) throw new Error(`seeding: the sign-in answered ${res.status}`);
  return `${jar}; ${cookiesOf(res)}`;
}

function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';', 1)[0]!)
    .join('; ');
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(target: Target, clientId: string, challenge: string, scope = 'openid'): string {
  return `${target.base}/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`;
}

/** Codes live 60 s: minting stops after this long, so those minted are still good when the point runs. */
const MINT_SECONDS = 25;

/**
 * `count` codes (fewer if minting them takes over MINT_SECONDS: a busy machine), each for its own authorization
 * request, minted four at a time by signed-in browsers; the newest last.
 */
async function mintCodes(target: Target, clientId: string, cookies: string[], count: number, scope?: string) {
  const out: Minted[] = [];
  let next = 0;
  const until = Date.now() + MINT_SECONDS * 1000;
  await Promise.all(
    cookies.slice(0, 4).map(async (cookie) => {
      while (next < count && Date.now() < until) {
        next++;
        const { verifier, challenge } = pkce();
        const res = await fetch(authorizeUrl(target, clientId, challenge, scope), {
          redirect: 'manual',
          headers: { cookie },
          signal: timeout(),
        });
        const code = new URL(res.headers.get('location') ?? 'x:/').searchParams.get('code');
        if (res.status !== 303 || !code) throw new Error(`seeding: /oauth/authorize answered ${res.status}`);
        out.push({ code, verifier });
      }
    }),
  );
  return out;
}

const exchangeBody = (clientId: string, m: Minted) =>
  new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: clientId,
    code: m.code,
    code_verifier: m.verifier,
    redirect_uri: REDIRECT_URI,
  }).toString();

/** What both scenarios start from: the client and a few signed-in browsers. */
export interface OAuthSeed {
  clientId: string;
  cookies: string[];
}

export async function oauthSeed(target: Target, users: Credentials[]): Promise<OAuthSeed> {
  const clientId = await registerClient(target);
  const cookies: string[] = [];
  for (const user of users.slice(0, 4)) cookies.push(await signIn(target, clientId, user));
  return { clientId, cookies };
}

/** The code exchange: as many requests as codes were minted, each redeeming one. */
export async function authorizationCodeSpec(
  target: Target,
  seed: OAuthSeed,
  connections: number,
  seconds: number,
): Promise<LoadSpec> {
  const wanted = Math.min(MAX_CODES, connections * seconds * CODES_PER_CONNECTION_SECOND);
  // A few more than the point sends: a connection may have one in flight when the amount is reached. One more
  // (the newest) is redeemed first, out of the count: the first request of a client on an instance reads the
  // client row (later ones use the instance's copy, re-checked inside the grant's statement), as in any deployment.
  const codes = await mintCodes(target, seed.clientId, seed.cookies, wanted + connections + 1);
  const warm = codes.pop();
  const count = codes.length - connections;
  if (count < connections) throw new Error(`seeding: only ${codes.length} codes minted in ${MINT_SECONDS} s`);
  await expectOk(
    await fetch(`${target.base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: exchangeBody(seed.clientId, warm!),
      signal: timeout(),
    }),
    'the warm-up exchange',
  );
  let next = 0;
  const path = '/oauth/token';
  return {
    url: target.base,
    connections,
    seconds,
    amount: count,
    request: {
      method: 'POST',
      path,
      headers: { 'content-type': FORM },
      // Each request takes the next code: a code is never presented twice (that would end its grant).
      setupRequest: (req: autocannon.Request) => ({ ...req, body: exchangeBody(seed.clientId, codes[next++]!) }),
    },
  };
}

/** The refresh_token grant: one offline grant per connection, its refresh token swapped in from every answer. */
export async function refreshTokenSpec(
  target: Target,
  seed: OAuthSeed,
  connections: number,
  seconds: number,
): Promise<LoadSpec> {
  const codes = await mintCodes(target, seed.clientId, seed.cookies, connections, 'openid offline_access');
  const grants = await Promise.all(
    codes.map(async (m) => {
      const res = await expectOk(
        await fetch(`${target.base}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': FORM },
          body: exchangeBody(seed.clientId, m),
          signal: timeout(),
        }),
        'the code exchange',
      );
      return { refreshToken: ((await res.json()) as { refresh_token: string }).refresh_token };
    }),
  );
  let unrotated = 0;
  let connection = 0;
  const path = '/oauth/token';
  return {
    url: target.base,
    connections,
    seconds,
    request: { method: 'POST', path },
    violations: () => unrotated,
    setupClient: (client: autocannon.Client) => {
      const grant = grants[connection++ % grants.length]!;
      client.setRequests([
        {
          method: 'POST',
          path,
          headers: { 'content-type': FORM },
          setupRequest: (req) => ({
            ...req,
            body: new URLSearchParams({
              grant_type: 'refresh_token',
              client_id: seed.clientId,
              refresh_token: grant.refreshToken,
            }).toString(),
          }),
          onResponse: (status, body) => {
            const next = status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined;
            if (next) grant.refreshToken = next;
            else if (status === 200) unrotated++;
          },
        },
      ]);
    },
  };
}
