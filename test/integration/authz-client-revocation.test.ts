// client_credentials tokens are revocable (RFC 7009): /oauth/revoke lists the token's jti until it expires, and
// from then on introspection answers active: false and /admin refuses it with 401, on every instance sharing
// the database. Revoking is idempotent under 30 simultaneous calls (one audit row), other tokens of the same
// client keep working, and openid-client completes the flow (token, introspection, revocation) at its defaults.
import t from 'tap';
import * as client from 'openid-client';
import { buildTestApp, expectError, ManualClock } from '../helper.js';
import { freePort } from '../free-port.js';
import { bearer, clientToken, formPost, introspect, secretClient } from '../authz-fixtures.js';

const ops = secretClient('ops', 'scope=admin');
const rs = secretClient('rs', 'scope=introspect revoke');
const env = { SERVICE_CLIENTS: `${ops.entry},${rs.entry}` };

function revoke(app: Parameters<typeof introspect>[0], token: string) {
  return formPost(app, '/oauth/revoke', new URLSearchParams({ token }).toString(), {
    authorization: `Basic ${Buffer.from(`${rs.id}:${rs.secret}`).toString('base64')}`,
  });
}

t.test('a revoked client token is inactive at introspection and refused by /admin; others stay good', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const token = await clientToken(app, ops, 'admin');
  const other = await clientToken(app, ops, 'admin');
  t.equal((await introspect(app, rs, token)).json().active, true, 'the token is active before revocation');
  t.equal((await app.inject({ url: '/admin/users', headers: bearer(token) })).statusCode, 200, 'and opens /admin');

  const res = await revoke(app, token);
  t.equal(res.statusCode, 200, 'revocation answers 200');
  t.same(res.json(), {}, 'with an empty body (RFC 7009)');

  t.same((await introspect(app, rs, token)).json(), { active: false }, 'introspection now says active: false');
  const refused = await app.inject({ url: '/admin/users', headers: bearer(token) });
  expectError(t, refused, 'invalid_token', '/admin with the revoked client token');
  t.match(refused.headers['www-authenticate'], /error="invalid_token"/, 'with the RFC 6750 challenge');
  t.equal(
    (await app.inject({ url: '/admin/users', headers: bearer(other) })).statusCode,
    200,
    'another token of the same client still opens /admin',
  );
  t.equal((await introspect(app, rs, other)).json().active, true, 'and is still active');
  const rows = await app.services.database.prisma.auditEvent.findMany({ where: { type: 'token_revoked' } });
  t.same(
    rows.map((r) => r.reason),
    ['client token of ops by client rs'],
    'the revocation is audited with both clients',
  );
});

t.test('30 revocations of one client token at the same instant: all answer 200, one takes effect', async (t) => {
  const { app } = await buildTestApp(t, { env });
  const token = await clientToken(app, ops, 'admin');
  const replies = await Promise.all(Array.from({ length: 30 }, () => revoke(app, token)));
  t.ok(
    replies.every((r) => r.statusCode === 200),
    'every revocation answers 200, as RFC 7009 says for a token already revoked',
  );
  t.equal(
    await app.services.database.prisma.auditEvent.count({ where: { type: 'token_revoked' } }),
    1,
    'one audit row: one revocation took effect',
  );
  const admin = await Promise.all(
    Array.from({ length: 30 }, () => app.inject({ url: '/admin/users', headers: bearer(token) })),
  );
  t.ok(
    admin.every((r) => r.statusCode === 401),
    'and 30 simultaneous /admin calls with it are all refused',
  );
});

t.test('the denylist holds a token until its exp, then forgets it', async (t) => {
  const clock = new ManualClock();
  const { app, config } = await buildTestApp(t, { env, clock });
  const first = await clientToken(app, ops, 'admin');
  await revoke(app, first);
  const rows = () => app.services.database.prisma.revokedClientToken.count();
  t.equal(await rows(), 1, 'the revoked jti is listed');
  clock.advance(config.accessTokenTtl + 1);
  t.same((await introspect(app, rs, first)).json(), { active: false }, 'past its exp the token is inactive anyway');
  await revoke(app, await clientToken(app, ops, 'admin'));
  t.equal(await rows(), 1, 'the next revocation deleted the expired row: only the new one is listed');
});

t.test('openid-client completes client_credentials, introspection and revocation at its defaults', async (t) => {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const both = secretClient('both', 'scope=admin introspect revoke');
  const { app } = await buildTestApp(t, { env: { SERVICE_CLIENTS: both.entry, ISSUER: issuer } });
  await app.listen({ port, host: '127.0.0.1' });
  const config = await client.discovery(new URL(issuer), both.id, both.secret, undefined, {
    execute: [client.allowInsecureRequests], // plain http on loopback only
  });
  const grant = await client.clientCredentialsGrant(config, { scope: 'admin' });
  t.equal((await client.tokenIntrospection(config, grant.access_token)).active, true, 'active after issue');
  await client.tokenRevocation(config, grant.access_token);
  t.equal(
    (await client.tokenIntrospection(config, grant.access_token)).active,
    false,
    'openid-client sees it inactive after revoking it',
  );
  const res = await fetch(`${issuer}/admin/users`, { headers: bearer(grant.access_token) });
  t.equal(res.status, 401, '/admin refuses it over the network too');
});
