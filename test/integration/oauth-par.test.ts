// Pushed authorization requests (RFC 9126): openid-client's PAR functions and oauth4webapi complete the flow at
// their default settings; a request_uri is claimed once (of 50 browsers at the same instant exactly one goes
// on), by its own client only, within 60 s; a client registered with require_pushed_authorization_requests
// (or a deployment with REQUIRE_PUSHED_AUTHORIZATION_REQUESTS) is refused without one; a push is checked by
// the authorization endpoint's own rules.
import t, { type Test } from 'tap';
import * as oidc from 'openid-client';
import * as oauth from 'oauth4webapi';
import { buildTestApp, expectError, register, type TestApp } from '../helper.js';
import { freePort } from '../free-port.js';
import { adminSession, bearer } from '../authz-fixtures.js';
import {
  Browser,
  FORM,
  FetchBrowser,
  SystemClock,
  authorizeQuery,
  pkce,
  redirectParams,
  registerClient,
} from '../oauth-server-fixtures.js';

const insecure = { execute: [oidc.allowInsecureRequests] };
const WEB_REDIRECT = 'https://partner.example.com/cb';

async function listeningTessera(t: Test, env: Record<string, string> = {}) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const built = await buildTestApp(t, { env: { ISSUER: issuer, ...env }, clock: new SystemClock() });
  await built.app.listen({ port, host: '127.0.0.1' });
  return { ...built, issuer };
}

/** Pushes the authorization request of a public client; returns the request_uri. */
async function push(app: TestApp, clientId: string, challenge: string, extra: Record<string, string> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/oauth/par',
    headers: FORM,
    payload: authorizeQuery(clientId, challenge, extra),
  });
  if (res.statusCode !== 201) throw new Error(`push refused: ${res.statusCode} ${res.body}`);
  return (res.json() as { request_uri: string }).request_uri;
}

const byUri = (clientId: string, requestUri: string) =>
  `/oauth/authorize?${new URLSearchParams({ client_id: clientId, request_uri: requestUri })}`;
const refusedUri = (body: string) => body.includes('data-code="invalid_request_uri"');

t.test('openid-client pushes the request and completes the flow for a client that requires PAR', async (t) => {
  const { app, issuer } = await listeningTessera(t);
  const { client, secret } = await registerClient(app, {
    client_name: 'Partner Web',
    redirect_uris: [WEB_REDIRECT],
    token_endpoint_auth_method: 'client_secret_basic',
    require_pushed_authorization_requests: true,
  });
  const user = await register(app);
  const config = await oidc.discovery(new URL(issuer), client.id, secret!, undefined, insecure);
  t.equal(
    config.serverMetadata().pushed_authorization_request_endpoint,
    `${issuer}/oauth/par`,
    'discovery names the PAR endpoint',
  );

  const verifier = oidc.randomPKCECodeVerifier();
  const params = {
    redirect_uri: WEB_REDIRECT,
    scope: 'openid email offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: oidc.randomState(),
  };
  const url = await oidc.buildAuthorizationUrlWithPAR(config, params);
  t.match(url.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/, 'the URL carries a request_uri');
  t.notOk(url.searchParams.has('scope'), 'and not the parameters themselves');

  const location = await new FetchBrowser(issuer).authorize(url, user.email, user.password);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(location), {
    pkceCodeVerifier: verifier,
    expectedState: params.state,
    idTokenExpected: true,
  });
  t.equal(tokens.claims()!.sub, user.user.id, 'the pushed request ended in a validated ID token for the user');
  t.ok(tokens.refresh_token, 'with the scopes that were pushed (offline_access)');

  // The same client without PAR is turned back to its redirect URI with invalid_request.
  const plain = oidc.buildAuthorizationUrl(config, params);
  const res = await new FetchBrowser(issuer).go(plain.href);
  t.equal(res.status, 303, 'a request that was not pushed is answered with a redirect');
  const back = new URL(res.headers.get('location')!);
  t.equal(back.searchParams.get('error'), 'invalid_request', 'carrying invalid_request: this client must use PAR');
});

t.test('oauth4webapi pushes the request of a public client and redeems the code', async (t) => {
  const { app, issuer } = await listeningTessera(t);
  const { client: registered } = await registerClient(app, {
    scope: 'openid email',
    grant_types: ['authorization_code'],
  });
  const user = await register(app);
  const as = await oauth
    .discoveryRequest(new URL(issuer), { [oauth.allowInsecureRequests]: true })
    .then((res) => oauth.processDiscoveryResponse(new URL(issuer), res));
  const client: oauth.Client = { client_id: registered.id };
  const auth = oauth.None();
  const verifier = oauth.generateRandomCodeVerifier();
  const redirectUri = 'http://127.0.0.1:53123/callback';
  const pushed = await oauth.pushedAuthorizationRequest(
    as,
    client,
    auth,
    {
      redirect_uri: redirectUri,
      scope: 'openid email',
      response_type: 'code',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    },
    { [oauth.allowInsecureRequests]: true },
  );
  const { request_uri } = await oauth.processPushedAuthorizationResponse(as, client, pushed);
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set('client_id', registered.id);
  url.searchParams.set('request_uri', request_uri);

  const location = await new FetchBrowser(issuer).authorize(url, user.email, user.password);
  const callback = oauth.validateAuthResponse(as, client, new URL(location));
  const response = await oauth.authorizationCodeGrantRequest(as, client, auth, callback, redirectUri, verifier, {
    [oauth.allowInsecureRequests]: true,
  });
  const result = await oauth.processAuthorizationCodeResponse(as, client, response);
  t.equal(oauth.getValidatedIdTokenClaims(result)!.sub, user.user.id, 'oauth4webapi validated the ID token');
});

t.test('of 50 browsers using one request_uri at the same instant, exactly one goes on', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const requestUri = await push(app, client.id, pkce().challenge);
  const pages = await Promise.all(Array.from({ length: 50 }, () => new Browser(app).get(byUri(client.id, requestUri))));
  const onward = pages.filter((p) => p.statusCode === 200 && p.body.includes('/oauth/authorize/login'));
  const refused = pages.filter((p) => p.statusCode === 400 && refusedUri(p.body));
  t.equal(onward.length, 1, 'one browser got the sign-in page');
  t.equal(refused.length, 49, 'every other one was told the request_uri is spent');
});

t.test('a pushed request goes through sign-in and consent, and its request_uri cannot be replayed', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const { challenge } = pkce();
  const requestUri = await push(app, client.id, challenge, { state: 'pushed-state' });
  const browser = new Browser(app);
  const login = await browser.get(byUri(client.id, requestUri));
  t.equal(login.statusCode, 200, 'the claimed request shows the sign-in page');
  t.notOk(login.body.includes('name="code_challenge"'), 'the page carries the request_uri, not the parameters');

  // Another browser cannot take over the claimed request, at the endpoint or on the pages.
  const thief = new Browser(app);
  const stolen = await thief.get(byUri(client.id, requestUri));
  t.ok(refusedUri(stolen.body), 'a second use of the request_uri is refused');
  const thiefPage = await thief.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  const hijack = await thief.signIn(
    {
      ...login,
      body: login.body.replace(
        /name="csrf" value="[^"]*"/,
        `name="csrf" value="${thief.cookies.get('__Host-tessera_csrf')}"`,
      ),
    },
    user.email,
  );
  t.ok(thiefPage.statusCode === 200 && refusedUri(hijack.body), 'its form fields do not work from another browser');

  const consent = await browser.signIn(login, user.email);
  t.ok(consent.body.includes('/oauth/authorize/consent'), 'after sign-in, the consent page');
  const done = await browser.consent(consent);
  t.equal(done.statusCode, 303, 'consent redirects');
  const params = redirectParams(done);
  t.equal(params.base, 'http://127.0.0.1:53123/callback', 'to the pushed redirect URI');
  t.equal(params.get('state'), 'pushed-state', 'with the pushed state');
  t.ok(params.get('code'), 'and a code');

  const replay = await browser.get(byUri(client.id, requestUri));
  t.ok(refusedUri(replay.body), 'the same browser cannot use the request_uri again');
});

t.test('a request_uri is bound to the client that pushed it and lives 60 seconds', async (t) => {
  const { app, clock } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const { client: other } = await registerClient(app, { client_name: 'Other App' });
  const requestUri = await push(app, client.id, pkce().challenge);

  const wrong = await new Browser(app).get(byUri(other.id, requestUri));
  t.equal(wrong.statusCode, 400, 'another client_id is refused');
  t.ok(refusedUri(wrong.body), 'as an unusable request_uri, on the error page (no redirect)');
  const right = await new Browser(app).get(byUri(client.id, requestUri));
  t.equal(right.statusCode, 200, 'the wrong client did not spend it: its own client still can');

  const late = await push(app, client.id, pkce().challenge);
  clock.advance(61_000);
  const expired = await new Browser(app).get(byUri(client.id, late));
  t.ok(expired.statusCode === 400 && refusedUri(expired.body), 'after 60 seconds the request_uri is refused');

  const forged = await new Browser(app).get(byUri(client.id, 'urn:ietf:params:oauth:request_uri:nope'));
  t.ok(refusedUri(forged.body), 'a request_uri Tessera never issued is refused');
});

t.test('a push is checked by the authorization endpoint rules before a request_uri is given', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const { challenge } = pkce();
  const pushWith = (payload: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/oauth/par', headers: { ...FORM, ...headers }, payload });

  const ok = await pushWith(authorizeQuery(client.id, challenge));
  t.equal(ok.statusCode, 201, 'a good push answers 201');
  t.equal(ok.json().expires_in, 60, 'with a request_uri that lives 60 seconds');
  t.equal(ok.headers['cache-control'], 'no-store', 'never cached');

  expectError(t, await pushWith(authorizeQuery(client.id, challenge, { scope: 'openid admin' })), 'invalid_scope');
  const plain = await pushWith(authorizeQuery(client.id, challenge, { code_challenge_method: 'plain' }));
  expectError(t, plain, 'invalid_request', 'PKCE plain is refused at push time');
  t.equal(plain.json().error, 'invalid_request', 'in RFC 6749 shape');
  const elsewhere = await pushWith(
    authorizeQuery(client.id, challenge, { redirect_uri: 'https://evil.example.com/cb' }),
  );
  expectError(t, elsewhere, 'invalid_request', 'an unregistered redirect URI is refused');
  const nested = await pushWith(
    authorizeQuery(client.id, challenge, { request_uri: 'urn:ietf:params:oauth:request_uri:x' }),
  );
  expectError(t, nested, 'invalid_request', 'a request_uri inside a push is refused');
  const unknown = await pushWith(authorizeQuery('no-such-client', challenge));
  expectError(t, unknown, 'invalid_client', 'an unknown client is refused');
  t.equal(unknown.json().error, 'invalid_client', 'as invalid_client');

  const { client: confidential, secret } = await registerClient(app, {
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const basic = `Basic ${Buffer.from(`${confidential.id}:${secret}`).toString('base64')}`;
  const query = new URLSearchParams(authorizeQuery(confidential.id, challenge));
  const mismatch = await pushWith(
    new URLSearchParams({ ...Object.fromEntries(query), client_id: client.id }).toString(),
    { authorization: basic },
  );
  expectError(t, mismatch, 'invalid_request', 'a body naming a client beside the Basic credentials is refused');
  query.delete('client_id');
  const wrongSecret = await pushWith(query.toString(), {
    authorization: `Basic ${Buffer.from(`${confidential.id}:nope`).toString('base64')}`,
  });
  expectError(t, wrongSecret, 'invalid_client', 'a wrong secret is refused');
  const good = await pushWith(query.toString(), { authorization: basic });
  t.equal(good.statusCode, 201, 'the confidential client pushes with its secret and no client_id in the body');
});

t.test('PAR in client registration and discovery; a deployment may require it of every client', async (t) => {
  const { app } = await buildTestApp(t, { env: { REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: 'true' } });
  const doc = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.equal(doc.require_pushed_authorization_requests, true, 'discovery says PAR is required');
  t.match(doc.pushed_authorization_request_endpoint, /\/oauth\/par$/, 'and where to push');
  const admin = await adminSession(app);
  const created = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: bearer(admin.accessToken),
    payload: {
      client_name: 'Bank App',
      redirect_uris: [WEB_REDIRECT],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid',
      require_pushed_authorization_requests: true,
    },
  });
  t.equal(created.statusCode, 201, 'an admin registers a client that requires PAR');
  const read = await app.inject({
    url: `/admin/clients/${created.json().client_id}`,
    headers: bearer(admin.accessToken),
  });
  t.equal(read.json().require_pushed_authorization_requests, true, 'the admin API reads the RFC 9126 flag back');

  const { client: loose } = await registerClient(app);
  const { challenge } = pkce();
  const direct = await new Browser(app).get(`/oauth/authorize?${authorizeQuery(loose.id, challenge)}`);
  t.equal(direct.statusCode, 303, 'a request that was not pushed is sent back');
  t.equal(redirectParams(direct).get('error'), 'invalid_request', 'with invalid_request');
  const requestUri = await push(app, loose.id, challenge);
  const pushed = await new Browser(app).get(byUri(loose.id, requestUri));
  t.equal(pushed.statusCode, 200, 'the pushed one is answered with the sign-in page');
});
