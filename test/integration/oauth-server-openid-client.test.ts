// openid-client (v6, at its default settings) against a listening Tessera: discovery, PKCE, the built-in
// pages filled over real HTTP, the code exchange with the ID token validated by the library, userinfo and
// refresh. Once as a native app (public client, loopback redirect on a port the OS picked), once as a
// confidential web app authenticating with private_key_jwt.
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';
import { exportJWK, generateKeyPair } from 'jose';
import { buildTestApp, register } from '../helper.js';
import { freePort } from '../free-port.js';
import { FetchBrowser, SystemClock, meta } from '../oauth-server-fixtures.js';

const insecure = { execute: [oidc.allowInsecureRequests] };

async function listeningTessera(t: Test, env: Record<string, string> = {}) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  // The library stamps its assertions with the real time: this server reads the real time too.
  const built = await buildTestApp(t, { env: { ISSUER: issuer, ...env }, clock: new SystemClock() });
  await built.app.listen({ port, host: '127.0.0.1' });
  return { ...built, issuer };
}

t.test('a native app: loopback redirect on a random port, PKCE, offline_access, refresh, userinfo', async (t) => {
  // No reuse grace: a refresh token presented twice is reuse at once, so a refused refresh must not rotate it.
  const { app, issuer } = await listeningTessera(t, { REFRESH_REUSE_GRACE_SECONDS: '0' });
  const { client } = await app.services.oauthClients.register(
    {
      client_name: 'Notes for Desktop',
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid email offline_access',
    },
    { kind: 'cli' },
    meta,
  );
  const user = await register(app);

  // The app's loopback listener, on a port the OS picks: it only records where the browser was sent.
  let received: string | undefined;
  const callback = createServer((req, res) => {
    received = `http://127.0.0.1:${(callback.address() as { port: number }).port}${req.url}`;
    res.end('You can close this window.');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => callback.close(resolve)));
  const redirectUri = `http://127.0.0.1:${(callback.address() as { port: number }).port}/callback`;

  const config = await oidc.discovery(new URL(issuer), client.id, undefined, oidc.None(), insecure);
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
  });
  const location = await new FetchBrowser(issuer).authorize(url, user.email, user.password);
  await fetch(location); // the browser lands on the app's listener
  t.ok(received?.startsWith(redirectUri), 'the browser was sent to the port the app listens on');

  const tokens = await oidc.authorizationCodeGrant(config, new URL(received!), {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims()!;
  t.equal(claims.sub, user.user.id, 'the library validated an ID token for the user');
  t.equal(claims.aud, client.id, 'whose audience is the client');
  t.ok(tokens.refresh_token, 'offline_access brought a refresh token');

  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  t.equal(info.email, user.email, 'userinfo answers the email scope');

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  t.ok(refreshed.access_token, 'the refresh grant gives a new access token');
  t.not(refreshed.refresh_token, tokens.refresh_token, 'and a new refresh token');
  const again = await oidc.refreshTokenGrant(config, refreshed.refresh_token!);
  t.ok(again.access_token, 'the rotated refresh token works in turn');

  const wider = await oidc
    .refreshTokenGrant(config, again.refresh_token!, { scope: 'openid email offline_access admin' })
    .then(
      () => null,
      (err: unknown) => err,
    );
  t.ok(wider instanceof oidc.ResponseBodyError, 'a refresh asking for a scope never granted is refused');
  t.equal((wider as oidc.ResponseBodyError).error, 'invalid_scope', 'as invalid_scope (RFC 6749 §6)');
  const after = await oidc.refreshTokenGrant(config, again.refresh_token!);
  t.ok(after.access_token, 'the same refresh token still works: the refusal rotated nothing');
  t.ok(
    (await oidc.refreshTokenGrant(config, after.refresh_token!)).access_token,
    'and the grant goes on: no reuse was detected',
  );
});

t.test('a confidential web app authenticates with private_key_jwt', async (t) => {
  const { app, issuer } = await listeningTessera(t);
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'web-1', alg: 'ES256', use: 'sig' };
  const { client, secret } = await app.services.oauthClients.register(
    {
      client_name: 'Partner Web',
      redirect_uris: ['https://partner.example.com/auth/callback'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [jwk] },
      scope: 'openid email',
    },
    { kind: 'cli' },
    meta,
  );
  t.equal(secret, null, 'a private_key_jwt client gets no secret');
  const user = await register(app);

  const config = await oidc.discovery(
    new URL(issuer),
    client.id,
    undefined,
    oidc.PrivateKeyJwt({ key: privateKey, kid: 'web-1' }),
    insecure,
  );
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://partner.example.com/auth/callback',
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const location = await new FetchBrowser(issuer).authorize(url, user.email, user.password);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(location), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    idTokenExpected: true,
  });
  t.equal(tokens.claims()!.sub, user.user.id, 'the web app got a validated ID token for the user');
  t.notOk(tokens.refresh_token, 'no offline_access, no refresh token');

  // Mix-up (RFC 9207): a response claiming another issuer is refused by the library.
  const forged = new URL(location);
  forged.searchParams.set('iss', 'https://evil.example.com');
  await t.rejects(
    oidc.authorizationCodeGrant(config, forged, { pkceCodeVerifier: verifier, expectedState: state }),
    'a response from another issuer is refused',
  );
});
