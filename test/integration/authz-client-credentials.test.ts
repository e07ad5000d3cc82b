// Service-to-service tokens: POST /oauth/token with grant_type=client_credentials (RFC 6749 §4.4), the
// client authenticated by its secret or by private_key_jwt (RFC 7523), scopes within its configuration,
// replayed assertions refused across instances, a per-client rate limit.
import t, { type Test } from 'tap';
import { createLocalJWKSet, decodeJwt, generateKeyPair, jwtVerify } from 'jose';
import { buildApp } from '../../src/app.js';
import { buildTestApp, expectError, me, session, tempDir, testConfig } from '../helper.js';
import {
  assertion,
  assertionForm,
  formPost,
  introspect,
  keyClient,
  secretClient,
  tokenRequest,
} from '../authz-fixtures.js';

const orders = secretClient('orders', 'scope=orders:read orders:write;aud=orders-api');
const legacy = secretClient('legacy');
const ops = secretClient('ops', 'scope=admin');

async function setup(t: Test, extra: string[] = [], env: Record<string, string> = {}) {
  const dir = await tempDir(t);
  const billing = await keyClient(dir, 'billing', 'scope=invoices:read');
  const built = await buildTestApp(t, {
    env: { SERVICE_CLIENTS: [orders.entry, legacy.entry, ops.entry, billing.entry, ...extra].join(','), ...env },
  });
  const tokenUrl = `${built.config.issuer}/oauth/token`;
  return { ...built, billing, tokenUrl, dir };
}

t.test(
  'a client with a good secret gets an RFC 9068 token for itself, verifiable from the JWKS, and no refresh token',
  async (t) => {
    const { app, config } = await setup(t);
    const res = await tokenRequest(app, orders, { scope: 'orders:read' });
    t.equal(res.statusCode, 200, 'a client with a good secret gets a token');
    t.equal(res.headers['cache-control'], 'no-store', 'the token answer is never cached');
    const body = res.json();
    t.same(
      Object.keys(body).sort(),
      ['access_token', 'expires_in', 'scope', 'token_type'],
      'the answer has no refresh token, only the access token, lifetime, scope and type',
    );
    t.equal(body.scope, 'orders:read', 'the token is granted the scope asked for');
    const jwks = createLocalJWKSet((await app.inject({ url: '/.well-known/jwks.json' })).json());
    const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
      issuer: config.issuer,
      audience: 'orders-api',
      typ: 'at+jwt',
    });
    t.equal(protectedHeader.typ, 'at+jwt', 'the token is typed at+jwt as RFC 9068 requires');
    t.equal(payload.sub, 'orders', "the token's subject is the client itself");
    t.equal(payload.client_id, 'orders', 'the token names the client as client_id');
    t.equal(payload.scope, 'orders:read', "the token's scope claim is the scope granted");
    t.notOk('sid' in payload, 'no session behind it');
    t.equal(
      payload.exp! - payload.iat!,
      config.accessTokenTtl,
      "a client token lives as long as a user's access token",
    );
  },
);

t.test('client_secret_post works too; a scope left out means every scope the client has', async (t) => {
  const { app } = await setup(t);
  const res = await formPost(
    app,
    '/oauth/token',
    new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: orders.id,
      client_secret: orders.secret,
    }).toString(),
  );
  t.equal(res.statusCode, 200, 'client_secret_post is accepted');
  t.equal(
    res.json().scope,
    'orders:read orders:write',
    'with no scope asked, the client gets every scope it is configured with',
  );
});

t.test('a bad secret, an unknown client or no credentials are 401 invalid_client', async (t) => {
  const { app } = await setup(t);
  for (const [name, res] of [
    ['bad secret', await tokenRequest(app, { id: orders.id, secret: legacy.secret })],
    ['unknown client', await tokenRequest(app, { id: 'nobody', secret: orders.secret })],
    ['no credentials', await formPost(app, '/oauth/token', 'grant_type=client_credentials')],
  ] as const) {
    t.equal(res.statusCode, 401, name);
    t.equal(res.json().code, 'invalid_client', name);
    t.equal(res.json().error, 'invalid_client', name);
  }
});

t.test(
  'a scope the client is not allowed is 400 invalid_scope; another grant type is unsupported_grant_type',
  async (t) => {
    const { app } = await setup(t);
    const res = await tokenRequest(app, orders, { scope: 'orders:read admin' });
    t.equal(res.statusCode, 400, "a scope beyond the client's configuration is refused with 400");
    t.equal(res.json().code, 'invalid_scope', 'the refusal code is invalid_scope');
    t.equal(res.json().error, 'invalid_scope', 'the OAuth error field says invalid_scope too');
    const grant = await tokenRequest(app, orders, { grant_type: 'password' });
    t.equal(grant.json().code, 'unsupported_grant_type', 'the password grant is refused as unsupported_grant_type');
    t.equal(grant.json().error, 'unsupported_grant_type', 'the OAuth error field says unsupported_grant_type too');
  },
);

t.test(
  'a client configured without scopes keeps introspect and revoke; a client without introspect may not introspect',
  async (t) => {
    const { app } = await setup(t);
    const token = (await tokenRequest(app, orders)).json().access_token;
    const res = await introspect(app, legacy, token);
    t.equal(res.statusCode, 200, 'a client configured without scopes may still introspect');
    t.same(
      { active: res.json().active, client_id: res.json().client_id, scope: res.json().scope },
      { active: true, client_id: 'orders', scope: 'orders:read orders:write' },
      'the introspection shows the orders token active with its client and scopes',
    );
    const refused = await introspect(app, ops, token);
    t.equal(refused.statusCode, 403, 'a client whose scopes leave out introspect is refused with 403');
    t.equal(refused.json().code, 'insufficient_scope', 'the refusal says insufficient_scope');
  },
);

t.test('a client token is no user token: /auth/me refuses it', async (t) => {
  const { app } = await setup(t);
  const token = (await tokenRequest(app, ops)).json().access_token;
  t.equal((await me(app, token)).statusCode, 401, 'a client token is refused by /auth/me');
});

t.test(
  'private_key_jwt: a good assertion gets a token; the token endpoint URL and the issuer are both accepted audiences',
  async (t) => {
    const { app, clock, billing, tokenUrl, config } = await setup(t);
    for (const aud of [tokenUrl, config.issuer]) {
      const res = await formPost(app, '/oauth/token', assertionForm(await assertion(billing, aud, clock.now())));
      t.equal(res.statusCode, 200, aud);
      t.equal(
        decodeJwt(res.json().access_token).sub,
        'billing',
        `audience ${aud}: the token's subject is the billing client`,
      );
      t.equal(res.json().scope, 'invoices:read', `audience ${aud}: the token carries the billing client's scope`);
    }
  },
);

t.test(
  'private_key_jwt: expired, too long-lived, wrongly addressed, foreign-signed or secret-less assertions are invalid_client',
  async (t) => {
    const { app, clock, billing, tokenUrl } = await setup(t);
    const now = clock.now();
    const s = Math.floor(now.getTime() / 1000);
    const other = await generateKeyPair('ES256');
    const cases: [string, string][] = [
      ['expired', await assertion(billing, tokenUrl, now, { iat: s - 120, exp: s - 60 })],
      ['lives longer than 5 minutes', await assertion(billing, tokenUrl, now, { exp: s + 3600 })],
      ['another audience', await assertion(billing, 'https://elsewhere.example/token', now)],
      ['signed by another key', await assertion(billing, tokenUrl, now, {}, other.privateKey)],
      ['sub is not the client', await assertion(billing, tokenUrl, now, { sub: 'orders' })],
      ['iss names a secret-only client', await assertion(billing, tokenUrl, now, { iss: 'orders', sub: 'orders' })],
    ];
    for (const [name, jwt] of cases) {
      const res = await formPost(app, '/oauth/token', assertionForm(jwt));
      t.equal(res.statusCode, 401, name);
      t.equal(res.json().code, 'invalid_client', name);
    }
    const mixed = await formPost(
      app,
      '/oauth/token',
      assertionForm(await assertion(billing, tokenUrl, now), { client_secret: 'x' }),
    );
    t.equal(mixed.json().code, 'invalid_request', 'two methods at once');
    const ok = await formPost(app, '/oauth/token', assertionForm(await assertion(billing, tokenUrl, now)));
    t.equal(ok.statusCode, 200, 'positive control');
  },
);

t.test(
  'private_key_jwt: a client with the scopes introspects and revokes with an assertion, as a client with a secret does',
  async (t) => {
    const dir = await tempDir(t);
    const auditor = await keyClient(dir, 'auditor', 'scope=introspect revoke');
    const reader = await keyClient(dir, 'reader', 'scope=invoices:read');
    const { app, clock, config } = await buildTestApp(t, {
      env: { SERVICE_CLIENTS: [auditor.entry, reader.entry].join(',') },
    });
    const user = await session(app);
    const introspectUrl = `${config.issuer}/oauth/introspect`;
    const signed = async (client: typeof auditor, aud = introspectUrl) =>
      assertionForm(await assertion(client, aud, clock.now()), { token: user.accessToken }).replace(
        'grant_type=client_credentials&',
        '',
      );

    const active = await formPost(app, '/oauth/introspect', await signed(auditor));
    t.equal(active.statusCode, 200, 'a private_key_jwt client with scope introspect may introspect');
    t.equal(active.json().active, true, "the user's live access token is active for the key client");
    t.equal(active.json().sub, user.user.id, 'the introspection names the user, as for a secret client');

    const replayForm = await signed(auditor, config.issuer);
    t.equal(
      (await formPost(app, '/oauth/introspect', replayForm)).statusCode,
      200,
      'the issuer is an accepted audience',
    );
    expectError(
      t,
      await formPost(app, '/oauth/revoke', replayForm),
      'invalid_client',
      'an assertion spent at introspection',
    );

    expectError(
      t,
      await formPost(app, '/oauth/introspect', await signed(reader)),
      'insufficient_scope',
      'a key client without scope introspect',
    );
    expectError(
      t,
      await formPost(app, '/oauth/revoke', await signed(reader)),
      'insufficient_scope',
      'a key client without scope revoke',
    );

    const once = await signed(auditor);
    const burst = await Promise.all(Array.from({ length: 20 }, () => formPost(app, '/oauth/introspect', once)));
    t.equal(
      burst.filter((r) => r.statusCode === 200).length,
      1,
      'one assertion sent 20 times at once to introspection is accepted exactly once',
    );
    t.ok(
      burst.filter((r) => r.statusCode !== 200).every((r) => r.json().code === 'invalid_client'),
      'the other 19 are invalid_client',
    );

    const revoked = await formPost(app, '/oauth/revoke', await signed(auditor));
    t.equal(revoked.statusCode, 200, 'a private_key_jwt client with scope revoke may revoke');
    expectError(t, await me(app, user.accessToken), 'invalid_token', "the revoked token's session");
    const after = await formPost(app, '/oauth/introspect', await signed(auditor));
    t.equal(after.json().active, false, 'the revoked token is inactive at introspection');
  },
);

t.test(
  'private_key_jwt: one assertion sent 50 times at once, to two instances sharing the database, gets exactly one token',
  async (t) => {
    const { app, clock, billing, tokenUrl, db, keysDir, config } = await setup(t);
    const second = await buildApp({ config, clock, database: await db.openAnother() });
    t.teardown(() => second.close());
    const jwt = await assertion(billing, tokenUrl, clock.now());
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => formPost(i % 2 ? app : second, '/oauth/token', assertionForm(jwt))),
    );
    const codes = answers.map((r) => r.statusCode);
    t.equal(codes.filter((c) => c === 200).length, 1, 'exactly one of the 50 replays gets a token');
    t.equal(codes.filter((c) => c === 401).length, 49, 'the other 49 replays are refused with 401');
    t.ok(
      answers.filter((r) => r.statusCode === 401).every((r) => r.json().code === 'invalid_client'),
      'every refused replay says invalid_client',
    );
    t.ok(keysDir, 'the setup wrote the keys directory both instances use');
    const later = await formPost(app, '/oauth/token', assertionForm(jwt));
    t.equal(later.json().code, 'invalid_client', 'and later still refused');
  },
);

t.test(
  'the token endpoint limits each client per minute, and one client hitting its limit leaves others alone',
  async (t) => {
    const { app } = await setup(t, [], { TOKEN_RATE_LIMIT_PER_MINUTE: '5' });
    const answers = await Promise.all(Array.from({ length: 50 }, () => tokenRequest(app, orders)));
    t.equal(
      answers.filter((r) => r.statusCode === 200).length,
      5,
      'exactly the per-minute limit of 5 tokens is issued',
    );
    t.ok(
      answers
        .filter((r) => r.statusCode !== 200)
        .every((r) => r.statusCode === 429 && r.json().code === 'too_many_requests'),
      'every request over the limit is refused with 429 too_many_requests',
    );
    t.equal((await tokenRequest(app, legacy)).statusCode, 200, 'another client still gets tokens');
  },
);

t.test('the discovery document lists the token endpoint, grant types, auth methods and scopes', async (t) => {
  const { app, config } = await setup(t);
  const doc = (await app.inject({ url: '/.well-known/openid-configuration' })).json();
  t.equal(doc.token_endpoint, `${config.issuer}/oauth/token`, 'discovery names the token endpoint under the issuer');
  t.same(
    doc.grant_types_supported,
    [
      'authorization_code',
      'client_credentials',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:token-exchange',
      'urn:ietf:params:oauth:grant-type:device_code',
    ],
    'discovery lists client_credentials, the grants of OAuth clients, the API-key token exchange and the device grant',
  );
  t.same(
    doc.token_endpoint_auth_methods_supported,
    ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    'discovery lists the three client authentication methods, and none for public OAuth clients',
  );
  t.same(
    doc.scopes_supported,
    [
      'admin',
      'authorization_ui',
      'email',
      'introspect',
      'invoices:read',
      'offline_access',
      'openid',
      'orders:read',
      'orders:write',
      'profile',
      'revoke',
    ],
    'discovery lists the OpenID scopes and every scope the configured clients use',
  );
  t.ok(doc.claims_supported.includes('roles'), 'discovery lists the roles claim');
});

t.test(
  'service client entries with a bad attribute or a private key fail the boot, naming SERVICE_CLIENTS',
  async (t) => {
    const dir = await tempDir(t);
    const { writeFile } = await import('node:fs/promises');
    const priv = `${dir}/private.json`;
    await writeFile(priv, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }));
    for (const entry of [
      `${orders.entry};colour=blue`,
      'x:private_key_jwt',
      `x:private_key_jwt;jwks=${priv}`,
      `${legacy.entry};scope=bad scope!`,
    ]) {
      t.throws(() => testConfig({ SERVICE_CLIENTS: entry }), /SERVICE_CLIENTS/, entry.slice(0, 40));
    }
    t.doesNotThrow(() => testConfig({ SERVICE_CLIENTS: orders.entry }), 'positive control');
  },
);
