// What the load benchmark asks of Tessera, all through HTTP as clients do: users are registered and
// logged in through the API, and each connection of a point acts as one client with its own session.
// For refresh that matters: a connection sends its session's cookie, as a same-origin browser does
// (Origin = the issuer's origin), and replaces it from every response's Set-Cookie. Tessera runs with
// REFRESH_REUSE_GRACE_SECONDS=0, so a client that failed to rotate would see refresh_token_reused (401):
// the error columns show it.
import type autocannon from 'autocannon';
import type { LoadSpec } from './load.js';
import { approvedDeviceCodes, redemptionBody, registerDeviceClient } from './device-codes.js';
import { authorizationCodeSpec, oauthSeed, refreshTokenSpec } from './oauth-scenarios.js';

export const SCENARIOS = [
  'refresh',
  'me',
  'jwks',
  'introspect',
  'login',
  'api-key',
  'client-credentials',
  'device-code',
  'authorization-code',
  'refresh-token',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Target {
  /** http://127.0.0.1:<port>, also Tessera's ISSUER (so it is the same origin). */
  base: string;
  clientId: string;
  clientSecret: string;
}

export interface Credentials {
  email: string;
  password: string;
}

export interface Session {
  accessToken: string;
  cookieName: string;
  cookie: string;
}

/** Runs `fn` over `items` with at most `limit` at a time (seeding is argon2-bound: no point flooding). */
async function inBatches<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

async function post(target: Target, path: string, body: unknown): Promise<Response> {
  return fetch(`${target.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: target.base },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
}

export async function registerUsers(target: Target, count: number, tag: string): Promise<Credentials[]> {
  const users = Array.from({ length: count }, (_, i) => ({
    email: `bench-${tag}-${i}@example.com`,
    password: `bench password ${tag} ${i}`,
  }));
  await inBatches(users, 4, async (user) => {
    const res = await post(target, '/auth/register', user);
    if (res.status !== 201) throw new Error(`seeding: register answered ${res.status}: ${await res.text()}`);
  });
  return users;
}

/** `count` new sessions, spread over the users. The cookie's name is read from Set-Cookie. */
export async function loginSessions(target: Target, users: Credentials[], count: number): Promise<Session[]> {
  return inBatches(
    Array.from({ length: count }, (_, i) => users[i % users.length]!),
    4,
    async (user) => {
      let res = await post(target, '/auth/login', user);
      // Another session of the same user may be logging in at this moment (one guess at a time per account).
      for (let tries = 0; res.status === 429 && tries < 20; tries++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await post(target, '/auth/login', user);
      }
      const body = (await res.json()) as { access_token?: string };
      const cookie = res.headers
        .getSetCookie()
        .map(parseSetCookie)
        .find((c) => c && c.value !== '');
      if (res.status !== 200 || !body.access_token || !cookie)
        throw new Error(`seeding: login answered ${res.status} without a token and a cookie`);
      return { accessToken: body.access_token, cookieName: cookie.name, cookie: cookie.value };
    },
  );
}

function parseSetCookie(header: string): { name: string; value: string } | undefined {
  const pair = header.split(';', 1)[0]!;
  const eq = pair.indexOf('=');
  return eq > 0 ? { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() } : undefined;
}

/** Hands out one item per connection, in order (autocannon calls setupClient once per connection). */
function perConnection<T>(
  items: T[],
  apply: (client: autocannon.Client, item: T) => void,
): (client: autocannon.Client) => void {
  let next = 0;
  return (client) => apply(client, items[next++ % items.length]!);
}

export interface ScenarioInput {
  target: Target;
  connections: number;
  seconds: number;
  users: Credentials[];
  /** Long-lived sessions for the read-only scenarios (me, introspect). */
  sessions: Session[];
}

/** The load spec of a scenario. Refresh logs its own fresh sessions in first (its cookies get spent). */
export async function scenarioSpec(scenario: Scenario, input: ScenarioInput): Promise<LoadSpec> {
  const { target, connections, seconds } = input;
  const common = { url: target.base, connections, seconds };
  switch (scenario) {
    case 'jwks':
      return { ...common, request: { method: 'GET', path: '/.well-known/jwks.json' } };
    case 'me':
      return {
        ...common,
        request: { method: 'GET', path: '/auth/me' },
        setupClient: perConnection(input.sessions, (client, s) =>
          client.setRequests([
            { method: 'GET', path: '/auth/me', headers: { authorization: `Bearer ${s.accessToken}` } },
          ]),
        ),
      };
    case 'introspect': {
      const basic = `Basic ${Buffer.from(`${target.clientId}:${target.clientSecret}`).toString('base64')}`;
      return {
        ...common,
        request: { method: 'POST', path: '/oauth/introspect' },
        setupClient: perConnection(input.sessions, (client, s) =>
          client.setRequests([
            {
              method: 'POST',
              path: '/oauth/introspect',
              headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
              body: `token=${s.accessToken}&token_type_hint=access_token`,
            },
          ]),
        ),
      };
    }
    case 'login':
      return {
        ...common,
        request: { method: 'POST', path: '/auth/login' },
        setupClient: perConnection(input.users, (client, user) =>
          client.setRequests([
            {
              method: 'POST',
              path: '/auth/login',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(user),
            },
          ]),
        ),
      };
    case 'refresh':
      return refreshSpec(input, await loginSessions(target, input.users, connections));
    case 'api-key':
      return apiKeySpec(input, await apiKeys(target, input.sessions));
    case 'device-code':
      return deviceCodeSpec(input);
    // The authorization server's grants (oauth-scenarios.ts): a client registered and browsers signed in first.
    case 'authorization-code':
      return authorizationCodeSpec(target, await oauthSeed(target, input.users), connections, seconds);
    case 'refresh-token':
      return refreshTokenSpec(target, await oauthSeed(target, input.users), connections, seconds);
    case 'client-credentials': {
      // The service client the benchmark configures (SERVICE_CLIENTS), authenticating with its secret each time.
      const basic = `Basic ${Buffer.from(`${target.clientId}:${target.clientSecret}`).toString('base64')}`;
      return {
        ...common,
        request: {
          method: 'POST',
          path: '/oauth/token',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        },
      };
    }
  }
}

/** Approved device codes redeemed per point: a batch made beforehand (each code is spent once). */
export const deviceCodeBatch = (connections: number) => Math.min(400, Math.max(40, connections * 20));

/** The device client of each Tessera (registered once per run). */
const deviceClients = new Map<string, Promise<string>>();

/**
 * Device-code redemption (RFC 8628 at /oauth/token): each request spends another approved code, so the point is
 * a fixed batch of redemptions (deviceCodeBatch), not a fixed time.
 */
async function deviceCodeSpec(input: ScenarioInput): Promise<LoadSpec> {
  const { target, connections } = input;
  let clientId = deviceClients.get(target.base);
  if (!clientId) {
    clientId = registerDeviceClient(target);
    deviceClients.set(target.base, clientId);
  }
  const id = await clientId;
  const amount = deviceCodeBatch(connections);
  const codes = await approvedDeviceCodes(target, id, input.users[0]!, amount);
  let next = 0;
  const path = '/oauth/token';
  return {
    url: target.base,
    connections,
    seconds: input.seconds,
    amount,
    request: {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest: (req) => ({ ...req, body: redemptionBody(id, codes[next++ % codes.length]!) }),
    },
  };
}

/** One personal API key per session (POST /auth/api-keys), for the api-key scenario. */
async function apiKeys(target: Target, sessions: Session[]): Promise<string[]> {
  return inBatches(sessions, 4, async (s) => {
    const res = await fetch(`${target.base}/auth/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessToken}` },
      body: JSON.stringify({ name: 'bench', scopes: [] }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { key?: string };
    if (res.status !== 201 || !body.key) throw new Error(`seeding: api key creation answered ${res.status}`);
    return body.key;
  });
}

/** API-key exchange (RFC 8693 at /oauth/token): each connection exchanges its own key, again and again. */
function apiKeySpec(input: Pick<ScenarioInput, 'target' | 'connections' | 'seconds'>, keys: string[]): LoadSpec {
  const path = '/oauth/token';
  return {
    url: input.target.base,
    connections: input.connections,
    seconds: input.seconds,
    request: { method: 'POST', path },
    setupClient: perConnection(keys, (client, key) =>
      client.setRequests([
        {
          method: 'POST',
          path,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
            subject_token: key,
            subject_token_type: 'urn:tessera:params:oauth:token-type:api_key',
          }).toString(),
        },
      ]),
    ),
  };
}

/** Refresh: each connection carries its own session's cookie and swaps in the one each response sets. */
function refreshSpec(input: Pick<ScenarioInput, 'target' | 'connections' | 'seconds'>, sessions: Session[]): LoadSpec {
  const { target } = input;
  let unrotated = 0;
  return {
    url: target.base,
    connections: input.connections,
    seconds: input.seconds,
    request: { method: 'POST', path: '/auth/refresh' },
    violations: () => unrotated,
    setupClient: perConnection(sessions, (client, session) =>
      client.setRequests([
        {
          method: 'POST',
          path: '/auth/refresh',
          setupRequest: (req) => ({
            ...req,
            headers: { ...req.headers, origin: target.base, cookie: `${session.cookieName}=${session.cookie}` },
          }),
          onResponse: (status, _body, _context, headers) => {
            const next = setCookies(headers)
              .map(parseSetCookie)
              .find((c) => c?.name === session.cookieName);
            if (next?.value) session.cookie = next.value;
            else if (status === 200) unrotated++;
          },
        },
      ]),
    ),
  };
}

function setCookies(headers: Record<string, unknown> | undefined): string[] {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'set-cookie') return (Array.isArray(value) ? value : [value]).map(String);
  }
  return [];
}
