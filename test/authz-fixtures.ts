// Shared by the authz-* tests: service-client entries, private_key_jwt keys and assertions, an admin user.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { hashClientSecret, newClientSecret } from '../src/domain/tokens/service-clients.js';
import { ASSERTION_TYPE } from '../src/domain/authz/client-assertions.js';
import { session, type TestApp } from './helper.js';

export const meta = { ip: '127.0.0.1', requestId: 'test' };

export interface SecretClient {
  id: string;
  secret: string;
  entry: string;
}

/** A client with a secret; `attrs` as in SERVICE_CLIENTS (e.g. 'scope=admin'). */
export function secretClient(id: string, attrs = ''): SecretClient {
  const secret = newClientSecret();
  return { id, secret, entry: `${id}:${hashClientSecret(secret)}${attrs ? `;${attrs}` : ''}` };
}

export interface KeyClient {
  id: string;
  privateKey: CryptoKey;
  entry: string;
  kid: string;
}

/** A private_key_jwt client whose public JWKS is written to `dir`. */
export async function keyClient(dir: string, id: string, attrs = ''): Promise<KeyClient> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const file = path.join(dir, `${id}.jwks.json`);
  await writeFile(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }));
  return { id, privateKey, kid, entry: `${id}:private_key_jwt;jwks=${file}${attrs ? `;${attrs}` : ''}` };
}

export interface AssertionClaims {
  iss?: string;
  sub?: string;
  aud?: string;
  exp?: number;
  iat?: number;
  jti?: string;
}

/** A client assertion signed by `key` (default: the client's own), valid for 60 s from `now` unless told otherwise. */
export async function assertion(
  client: KeyClient,
  audience: string,
  now: Date,
  claims: AssertionClaims = {},
  key: CryptoKey = client.privateKey,
) {
  const t = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: client.kid })
    .setIssuer(claims.iss ?? client.id)
    .setSubject(claims.sub ?? client.id)
    .setAudience(claims.aud ?? audience)
    .setIssuedAt(claims.iat ?? t)
    .setExpirationTime(claims.exp ?? t + 60)
    .setJti(claims.jti ?? randomUUID())
    .sign(key);
}

export function assertionForm(jwt: string, extra: Record<string, string> = {}) {
  return new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: jwt,
    ...extra,
  }).toString();
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** POST /oauth/token with client_secret_basic. */
export function tokenRequest(
  app: TestApp,
  client: { id: string; secret: string },
  params: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` },
    payload: new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString(),
  });
}

export function formPost(app: TestApp, url: string, body: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, headers: { ...FORM, ...headers }, payload: body });
}

/** A client_credentials access token. */
export async function clientToken(
  app: TestApp,
  client: { id: string; secret: string },
  scope?: string,
): Promise<string> {
  const res = await tokenRequest(app, client, scope ? { scope } : {});
  if (res.statusCode !== 200) throw new Error(`token request failed: ${res.statusCode} ${res.body}`);
  return res.json().access_token as string;
}

/** A logged-in user with the role admin (granted as the CLI would). */
export async function adminSession(app: TestApp) {
  const s = await session(app);
  await app.services.roles.grant(s.user.id, 'admin', { kind: 'cli' }, meta);
  return s;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function introspect(app: TestApp, client: { id: string; secret: string }, token: string) {
  return formPost(app, '/oauth/introspect', new URLSearchParams({ token }).toString(), {
    authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
  });
}
