// RFC 8707 resource indicators end to end over HTTP: a registered resource named in the authorization request
// becomes the token's `aud`; anything else is invalid_target (at the authorization endpoint as a redirect, at
// the token endpoint in RFC 6749's JSON shape); a token request may narrow to a granted resource and a refresh
// may narrow scope and resource but never widen them; offline_access is in scopes_supported.
import t, { type Test } from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp, expectError, register, testConfig } from '../helper.js';
import {
  FORM,
  authorizeCode,
  exchangeCode,
  redirectParams,
  registerClient,
  Browser,
} from '../oauth-server-fixtures.js';
import { authorizeQuery, pkce } from '../oauth-server-fixtures.js';
import type { TestApp } from '../helper.js';

const NOTES = 'https://notes.example.com/mcp';
const FILES = 'https://files.example.com/api';
const env = { RESOURCES: `${NOTES}, ${FILES}` };
const SCOPE = 'openid offline_access notes:read notes:write';

function token(app: TestApp, fields: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: new URLSearchParams(fields).toString(),
  });
}

async function setup(t: Test) {
  const { app, config } = await buildTestApp(t, { env });
  const { client } = await registerClient(app, { scope: SCOPE });
  const user = await register(app);
  return { app, config, client, user };
}

t.test('a registered resource named in the authorization request is the access token audience', async (t) => {
  const { app, client, user } = await setup(t);
  const { code, verifier } = await authorizeCode(app, client.id, user.email, { scope: SCOPE, resource: NOTES });
  const res = await exchangeCode(app, client.id, code, verifier);
  t.equal(res.statusCode, 200, 'the code is exchanged');
  t.equal(decodeJwt(res.json().access_token).aud, NOTES, 'aud is the resource the client asked for, nothing else');
});

t.test('a resource that is not registered is invalid_target at the authorization endpoint', async (t) => {
  const { app, client } = await setup(t);
  const browser = new Browser(app);
  const { challenge } = pkce();
  let page = await browser.get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { scope: SCOPE, resource: 'https://evil.example/' })}`,
  );
  t.equal(page.statusCode, 303, 'the refusal goes back to the client');
  t.equal(redirectParams(page).get('error'), 'invalid_target', 'the error is RFC 8707 invalid_target');
  page = await browser.get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { scope: SCOPE, resource: FILES })}`,
  );
  t.equal(page.statusCode, 200, 'a registered resource leads on to the sign-in page');
});

t.test('a client registered with its own resources may name only those', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const { client } = await registerClient(app, { scope: SCOPE, resources: [FILES] });
  const { challenge } = pkce();
  const page = await new Browser(app).get(
    `/oauth/authorize?${authorizeQuery(client.id, challenge, { scope: SCOPE, resource: NOTES })}`,
  );
  t.equal(redirectParams(page).get('error'), 'invalid_target', "the admin's list narrows the registry for that client");
});

t.test(
  'a token request naming a resource outside the grant is invalid_target and leaves the code usable',
  async (t) => {
    const { app, client, user } = await setup(t);
    const { code, verifier, redirectUri } = await authorizeCode(app, client.id, user.email, {
      scope: SCOPE,
      resource: NOTES,
    });
    const base = {
      grant_type: 'authorization_code',
      client_id: client.id,
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
    };
    const refused = await token(app, { ...base, resource: FILES });
    expectError(t, refused, 'invalid_target', 'a registered resource that was not granted');
    t.equal(refused.json().error, 'invalid_target', 'the body has the RFC 6749 error member');
    t.type(refused.json().error_description, 'string', 'and an error_description');
    const ok = await token(app, { ...base, resource: NOTES });
    t.equal(ok.statusCode, 200, 'the same code then redeems for the granted resource');
    t.equal(decodeJwt(ok.json().access_token).aud, NOTES, 'for that resource');
  },
);

t.test('a refresh narrows the scope and keeps the resource, and never widens either', async (t) => {
  const { app, client, user } = await setup(t);
  const { code, verifier } = await authorizeCode(app, client.id, user.email, {
    scope: 'offline_access notes:read',
    resource: NOTES,
  });
  let refresh = (await exchangeCode(app, client.id, code, verifier)).json().refresh_token as string;
  const base = { grant_type: 'refresh_token', client_id: client.id };

  const narrowed = await token(app, { ...base, refresh_token: refresh, scope: 'notes:read', resource: NOTES });
  t.equal(narrowed.statusCode, 200, 'a refresh may name a granted resource and a narrower scope');
  const claims = decodeJwt(narrowed.json().access_token);
  t.equal(claims.aud, NOTES, 'the refreshed token keeps the resource');
  t.equal(claims.scope, 'notes:read', 'and carries the narrowed scope');
  refresh = narrowed.json().refresh_token;

  const otherResource = await token(app, { ...base, refresh_token: refresh, resource: FILES });
  expectError(t, otherResource, 'invalid_target', 'a registered resource outside the grant is refused on refresh');
  const unregistered = await token(app, { ...base, refresh_token: refresh, resource: 'https://evil.example/' });
  expectError(t, unregistered, 'invalid_target', 'an unregistered resource is refused before the token rotates');
  const wider = await token(app, { ...base, refresh_token: refresh, scope: 'notes:read notes:write' });
  expectError(t, wider, 'invalid_scope', 'a refresh can not add a scope that was not granted');
});

t.test(
  'a refresh refused for its scope or resource leaves the token as it was, even with no reuse grace; 50 at once too',
  async (t) => {
    const { app } = await buildTestApp(t, { env: { ...env, REFRESH_REUSE_GRACE_SECONDS: '0' } });
    const { client } = await registerClient(app, { scope: SCOPE });
    const user = await register(app);
    const { code, verifier } = await authorizeCode(app, client.id, user.email, {
      scope: 'offline_access notes:read',
      resource: NOTES,
    });
    const refresh = (await exchangeCode(app, client.id, code, verifier)).json().refresh_token as string;
    const base = { grant_type: 'refresh_token', client_id: client.id, refresh_token: refresh };

    expectError(t, await token(app, { ...base, scope: 'notes:write' }), 'invalid_scope', 'a scope never granted');
    expectError(t, await token(app, { ...base, resource: FILES }), 'invalid_target', 'a resource outside the grant');
    const burst = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        token(app, i % 2 ? { ...base, scope: 'notes:read notes:write' } : { ...base, resource: FILES }),
      ),
    );
    t.same(
      [...new Set(burst.map((r) => `${r.statusCode} ${r.json().error}`))].sort(),
      ['400 invalid_scope', '400 invalid_target'],
      '50 refused refreshes at the same instant: each refused, none rotates',
    );

    const again = await token(app, base);
    t.equal(again.statusCode, 200, 'the same refresh token still refreshes: nothing was rotated by the refusals');
    t.equal(decodeJwt(again.json().access_token).scope, 'offline_access notes:read', 'with the scope of the grant');
    const next = await token(app, { ...base, refresh_token: again.json().refresh_token });
    t.equal(next.statusCode, 200, 'and the grant goes on: no reuse was detected, no session ended');

    // A token already rotated away is reuse whatever it asks for: a bad scope does not spare it the verdict.
    expectError(
      t,
      await token(app, { ...base, scope: 'notes:write' }),
      'invalid_grant',
      'an old token asking for a scope never granted is refused as an old token',
    );
    expectError(
      t,
      await token(app, { ...base, refresh_token: next.json().refresh_token }),
      'invalid_grant',
      'and its reuse ended the grant',
    );
  },
);

t.test(
  'offline_access is in scopes_supported and registered resources are accepted at boot only if valid',
  async (t) => {
    const { app } = await buildTestApp(t, { env });
    const meta = await app.inject({ url: '/.well-known/oauth-authorization-server' });
    t.ok(meta.json().scopes_supported.includes('offline_access'), 'clients learn they may ask for refresh tokens');
    t.throws(
      () => testConfig({ RESOURCES: 'http://notes.example.com/mcp' }),
      /RESOURCES/,
      'plain http off loopback stops the boot',
    );
    t.throws(() => testConfig({ RESOURCES: 'https://notes.example.com/#x' }), /RESOURCES/, 'a fragment stops the boot');
    t.throws(() => testConfig({ RESOURCES: 'notes' }), /RESOURCES/, 'a relative name stops the boot');
  },
);
