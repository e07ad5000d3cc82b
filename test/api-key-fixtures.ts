// Shared steps of the API-key tests (test/integration/api-keys*.test.ts): a user with roles who makes a key
// over HTTP, and the RFC 8693 exchange and introspection of a key.
import { session, type TestApp } from './helper.js';
import { bearer, meta } from './authz-fixtures.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const API_KEY_TYPE = 'urn:tessera:params:oauth:token-type:api_key';

/** A signed-in user holding `roles` (granted as the CLI would). */
export async function userWithRoles(app: TestApp, roles: string[]) {
  const s = await session(app);
  for (const role of roles) await app.services.roles.grant(s.user.id, role, { kind: 'cli' }, meta);
  return s;
}

/** POST /auth/api-keys as the user; the raw response. */
export function createKey(app: TestApp, accessToken: string, body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(accessToken), payload: body });
}

/** A user holding `roles` and a key of theirs with `scopes`. */
export async function userKey(app: TestApp, roles: string[], scopes = roles) {
  const user = await userWithRoles(app, roles);
  const res = await createKey(app, user.accessToken, { name: 'deploy script', scopes });
  if (res.statusCode !== 201) throw new Error(`key creation failed: ${res.statusCode} ${res.body}`);
  const { key, id } = res.json() as { key: string; id: string };
  return { user, key, id };
}

/** The token exchange of a key, with no client credential (the key is the credential). */
export function exchange(
  app: TestApp,
  key: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
  remoteAddress = '127.0.0.1',
) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: key,
      subject_token_type: API_KEY_TYPE,
      ...extra,
    }).toString(),
  });
}
