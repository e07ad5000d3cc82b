// RFC 7662 introspection and RFC 7009 revocation for registered service clients.
import t from 'tap';
import { decodeJwt } from 'jose';
import {
  buildTestApp,
  login,
  me,
  refresh,
  refreshCookieOf,
  session,
  type TestApp,
  REFRESH_COOKIE,
  expectError,
} from '../helper.js';
import { hashClientSecret } from '../../src/domain/tokens/service-clients.js';

const SECRET = 'k3Jq0f8Zr6m2VbT1yX9wH4sPdLcN7aEuGiO5qRtYzA0';
const CLIENTS = {
  SERVICE_CLIENTS: `orders:${hashClientSecret(SECRET)}, billing:${hashClientSecret('another-secret-of-enough-length-123456789')}`,
};
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function introspect(app: TestApp, token: string, auth = basic('orders', SECRET), extra: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/oauth/introspect',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ token, ...extra }),
  });
}

function revoke(app: TestApp, token: string) {
  return app.inject({
    method: 'POST',
    url: '/oauth/revoke',
    headers: { authorization: basic('orders', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ token }),
  });
}

t.test('introspection of an access token: active with its claims, inactive once its session ends', async (t) => {
  const { app, config } = await buildTestApp(t, { env: CLIENTS });
  const s = await session(app);
  const res = await introspect(app, s.accessToken, undefined, {
    token_type_hint: 'access_token',
    unknown_param: 'ignored',
  });
  t.equal(res.statusCode, 200, 'a registered client may introspect a live access token');
  t.equal(res.headers['cache-control'], 'no-store', 'the introspection answer is never cached');
  const body = res.json();
  t.match(
    body,
    {
      active: true,
      token_type: 'Bearer',
      iss: config.issuer,
      sub: s.user.id,
      sid: String,
      aud: 'tessera',
      client_id: 'tessera',
      exp: Number,
      iat: Number,
      jti: String,
    },
    'a live access token is active, with its issuer, subject, session and audience',
  );
  t.equal(body.exp - body.iat, 900, 'the introspected access token lives for 900 seconds');
  const { active: _active, token_type: _type, ...claims } = body;
  t.same(
    claims,
    decodeJwt(s.accessToken),
    'introspection answers with every claim of the token (email_verified and amr included), as the verifier does',
  );

  await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [REFRESH_COOKIE]: s.refresh } });
  t.same(
    (await introspect(app, s.accessToken)).json(),
    { active: false },
    'revoked session: inactive although the JWT itself is still valid',
  );
});

t.test('introspection of refresh tokens and of junk', async (t) => {
  const { app, clock } = await buildTestApp(t, { env: { ...CLIENTS, REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const s = await session(app);
  t.match(
    (await introspect(app, s.refresh)).json(),
    {
      active: true,
      token_type: 'refresh_token',
      sub: s.user.id,
      sid: String,
      exp: Number,
    },
    'a live refresh token is active, with its subject and session',
  );
  const next = refreshCookieOf(await refresh(app, s.refresh))!;
  t.same((await introspect(app, s.refresh)).json(), { active: false }, 'a spent refresh token');
  t.equal((await introspect(app, next)).json().active, true, 'the refresh token that replaced it is active');
  for (const junk of ['hello', 'a.b.c', 'x'.repeat(43), 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']) {
    t.same((await introspect(app, junk)).json(), { active: false }, `junk: ${junk.slice(0, 20)}`);
  }
  clock.advance(901);
  t.same((await introspect(app, s.accessToken)).json(), { active: false }, 'an expired access token');
});

t.test(
  'client authentication: Basic or body, one at a time; failures are 401 invalid_client with a challenge',
  async (t) => {
    const { app } = await buildTestApp(t, { env: CLIENTS });
    const { accessToken } = await session(app);
    const viaBody = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ token: accessToken, client_id: 'orders', client_secret: SECRET }),
    });
    t.equal(viaBody.json().active, true, 'client_secret_post');
    const viaJson = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { authorization: basic('orders', SECRET) },
      payload: { token: accessToken },
    });
    t.equal(viaJson.json().active, true, 'a JSON body works too');

    const refused: [string, Awaited<ReturnType<typeof introspect>>][] = [
      [
        'no credentials',
        await app.inject({ method: 'POST', url: '/oauth/introspect', payload: { token: accessToken } }),
      ],
      ['wrong secret', await introspect(app, accessToken, basic('orders', 'nope'))],
      ['another client’s secret', await introspect(app, accessToken, basic('billing', SECRET))],
      ['unknown client', await introspect(app, accessToken, basic('nobody', SECRET))],
      ['not base64', await introspect(app, accessToken, 'Basic ###')],
      ['bearer instead of basic', await introspect(app, accessToken, `Bearer ${accessToken}`)],
    ];
    refused.push([
      'no credentials and no token either: 401 before any field is judged',
      await app.inject({ method: 'POST', url: '/oauth/introspect', payload: { nonsense: 1 } }),
    ]);
    for (const [label, res] of refused) {
      expectError(t, res, 'invalid_client', label);
      t.equal(res.json().error, 'invalid_client', `${label}: the RFC 6749 error member`);
      t.match(res.headers['www-authenticate'], /^Basic realm="tessera"/, label);
    }
    const both = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { authorization: basic('orders', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ token: accessToken, client_id: 'orders', client_secret: SECRET }),
    });
    t.equal(both.json().code, 'invalid_request', 'two methods at once');
    t.equal(both.json().error, 'invalid_request', 'the OAuth error field says invalid_request too');
    const noToken = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { authorization: basic('orders', SECRET) },
      payload: {},
    });
    t.equal(noToken.json().code, 'invalid_request', 'an introspection request without a token is invalid_request');
    const big = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { authorization: basic('orders', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ token: 'x'.repeat(17 * 1024) }),
    });
    expectError(t, big, 'payload_too_large', 'form bodies are capped at 16 KiB like JSON ones');
    const twoTokens = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { authorization: basic('orders', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=a&token=b',
    });
    t.equal(twoTokens.json().code, 'invalid_request', 'a repeated parameter');
  },
);

t.test('with no clients configured, every call is invalid_client', async (t) => {
  const { app } = await buildTestApp(t);
  const { accessToken } = await session(app);
  t.equal(
    (await introspect(app, accessToken)).json().code,
    'invalid_client',
    'with no clients configured, even a plausible client is invalid_client',
  );
});

t.test(
  'revocation ends the whole session, for access and refresh tokens; unknown tokens are a quiet 200',
  async (t) => {
    const { app, db } = await buildTestApp(t, { env: CLIENTS });
    const a = await session(app);
    const res = await revoke(app, a.accessToken);
    t.equal(res.statusCode, 200, 'revoking an access token is accepted');
    t.same(res.json(), {}, 'the revocation answers an empty object');
    t.equal((await me(app, a.accessToken)).statusCode, 401, 'the revoked access token no longer reaches /me');
    t.equal(
      (await refresh(app, a.refresh)).json().code,
      'session_revoked',
      'revoking the access token ended its session',
    );
    t.same(
      (await introspect(app, a.accessToken)).json(),
      { active: false },
      'the revoked access token no longer introspects as active',
    );

    const b = await login(app, a.email);
    t.equal((await revoke(app, b.refresh)).statusCode, 200, 'revoking a refresh token is accepted');
    t.equal(
      (await me(app, b.accessToken)).statusCode,
      401,
      'revoking the refresh token ended the session of its access tokens',
    );

    t.equal((await revoke(app, 'never-issued')).statusCode, 200, 'RFC 7009: nothing to say about unknown tokens');
    t.equal((await revoke(app, a.accessToken)).statusCode, 200, 'revoking twice is fine');
    const rows = await db.database.prisma.auditEvent.findMany({ where: { type: 'token_revoked' } });
    t.equal(rows.length, 2, 'only the two revocations that ended a session are audited');
    t.equal(rows[0]!.reason, 'client orders', 'the audit row names the revoking client');

    const noClient = await app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ token: b.refresh }),
    });
    t.equal(
      noClient.json().code,
      'invalid_client',
      'revocation without client credentials is refused as invalid_client',
    );
  },
);

t.test('discovery advertises both endpoints; bad client config is a boot error', async (t) => {
  const { app, config } = await buildTestApp(t, { env: CLIENTS });
  const doc = (await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
  t.equal(
    doc.introspection_endpoint,
    `${config.issuer}/oauth/introspect`,
    'discovery names the introspection endpoint under the issuer',
  );
  t.equal(
    doc.revocation_endpoint,
    `${config.issuer}/oauth/revoke`,
    'discovery names the revocation endpoint under the issuer',
  );
  t.same(
    doc.introspection_endpoint_auth_methods_supported,
    ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    'discovery lists Basic, body and private_key_jwt client authentication for introspection',
  );
  t.same(
    doc.revocation_endpoint_auth_methods_supported,
    doc.introspection_endpoint_auth_methods_supported,
    'revocation accepts the same client authentication methods as introspection',
  );

  const { testConfig } = await import('../helper.js');
  t.throws(
    () => testConfig({ SERVICE_CLIENTS: 'orders:plaintext-secret' }),
    /SERVICE_CLIENTS/,
    'a plaintext client secret fails the boot, naming SERVICE_CLIENTS',
  );
  t.throws(
    () => testConfig({ SERVICE_CLIENTS_FILE: '/nonexistent/clients' }),
    /SERVICE_CLIENTS_FILE/,
    'a missing clients file fails the boot, naming SERVICE_CLIENTS_FILE',
  );
});
