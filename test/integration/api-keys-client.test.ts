// A real client exchanges an API key: openid-client (v6, at its defaults but for plain http on loopback)
// discovers a listening Tessera, sends RFC 8693's token exchange with genericGrantRequest, and the access
// token it gets verifies with @tessera/verify against the published JWKS, like any other token. Discovery
// lists the grant type.
import t from 'tap';
import * as oidc from 'openid-client';
import { createVerifier, requireScopes } from '@tessera/verify';
import { ManualClock, buildTestApp } from '../helper.js';
import { freePort } from '../free-port.js';
import { API_KEY_TYPE, TOKEN_EXCHANGE, userKey } from '../api-key-fixtures.js';

class SystemClock extends ManualClock {
  override now(): Date {
    return new Date();
  }
}

t.test('openid-client exchanges a key with genericGrantRequest; the token verifies with @tessera/verify', async (t) => {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { app } = await buildTestApp(t, { env: { ISSUER: issuer }, clock: new SystemClock() });
  await app.listen({ port, host: '127.0.0.1' });
  const { user, key } = await userKey(app, ['reports:read', 'support']);

  const config = await oidc.discovery(new URL(issuer), 'nightly-report', undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests], // plain http on loopback only
  });
  t.ok(
    config.serverMetadata().grant_types_supported?.includes(TOKEN_EXCHANGE),
    'discovery lists the token exchange grant',
  );
  const tokens = await oidc.genericGrantRequest(config, TOKEN_EXCHANGE, {
    subject_token: key,
    subject_token_type: API_KEY_TYPE,
    scope: 'reports:read',
  });
  t.equal(tokens.token_type, 'bearer', 'the library accepted a Bearer token');
  t.equal(tokens.expires_in, 900, 'for 15 minutes');
  t.equal(tokens.scope, 'reports:read', 'with the scope asked for');

  const verifier = createVerifier({ issuer, audience: 'tessera' });
  // No session stands behind it: a machine token, which a route accepts with kind 'client' (or 'any').
  const claims = await verifier.verify(tokens.access_token, { kind: 'client', scopes: ['reports:read'] });
  t.equal(claims.sub, user.user.id, '@tessera/verify reads the owner from the token');
  t.throws(() => requireScopes(claims, 'support'), 'the scope left out is not there');

  const refused = await oidc
    .genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`,
      subject_token_type: API_KEY_TYPE,
    })
    .catch((err: unknown) => err);
  t.equal(
    (refused as { error?: string }).error,
    'invalid_grant',
    'a mistyped key reaches the library as an RFC 6749 invalid_grant',
  );
});
