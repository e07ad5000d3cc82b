// tessera/verify's requireRoles / requireScopes and token kinds, through the example resource service
// against a listening Tessera (real JWKS over HTTP): a user route needing a role, a machine route needing
// a scope called with a client_credentials token, 403 insufficient_scope with the RFC 6750 challenge.
import t from 'tap';
import { buildResourceService } from '../../examples/resource-service/app.js';
import { createVerifier, requireRoles, requireScopes, tokenKind, TesseraVerifyError } from '@tessera/verify';
import { buildTestApp, refresh, session } from '../helper.js';
import { clientToken, meta, secretClient } from '../authz-fixtures.js';

const notes = secretClient('notes', 'scope=introspect notes:sync');
const reporting = secretClient('reporting', 'scope=reports:read');

t.test('the example resource service with a listening Tessera', async (t) => {
  const { app, config } = await buildTestApp(t, { env: { SERVICE_CLIENTS: `${notes.entry},${reporting.entry}` } });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const service = await buildResourceService({
    issuer: config.issuer,
    audience: 'tessera',
    jwksUrl: `${address}/.well-known/jwks.json`,
    introspection: { url: `${address}/oauth/introspect`, clientId: notes.id, clientSecret: notes.secret },
  });
  t.teardown(() => service.close());
  const supportUser = await session(app);
  await app.services.roles.grant(supportUser.user.id, 'support', { kind: 'cli' }, meta);
  const supportToken = (await refresh(app, supportUser.refresh)).json().access_token as string;
  const plainUser = await session(app);
  const syncToken = await clientToken(app, notes, 'notes:sync');
  const otherClientToken = await clientToken(app, reporting);
  const call = (method: 'GET' | 'POST', url: string, token: string) =>
    service.inject({ method, url, headers: { authorization: `Bearer ${token}` } });

  t.test('a user with the role passes the role route', async (t) => {
    const res = await call('GET', '/reports', supportToken);
    t.equal(res.statusCode, 200, 'a user holding the support role is let into /reports');
    t.equal(res.json().user, supportUser.user.id, '/reports answers for the user the token names');
  });

  t.test(
    'a user without the role gets 403 insufficient_scope with the RFC 6750 challenge, 50 times at once',
    async (t) => {
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => call('GET', '/reports', plainUser.accessToken)),
      );
      for (const res of answers) {
        t.equal(res.statusCode, 403, 'a user without the role is refused with 403');
        t.equal(res.json().code, 'insufficient_scope', 'the refusal is insufficient_scope, not invalid_token');
        t.match(
          res.headers['www-authenticate'],
          /^Bearer error="insufficient_scope"/,
          'the 403 carries the RFC 6750 insufficient_scope challenge',
        );
      }
    },
  );

  t.test('a service token with the scope passes the machine route', async (t) => {
    const res = await call('POST', '/sync', syncToken);
    t.equal(res.statusCode, 200, 'a client token with notes:sync is let into /sync');
    t.equal(res.json().client, 'notes', '/sync answers for the client the token names');
  });

  t.test('a service token without the scope gets 403 naming the scope needed', async (t) => {
    const res = await call('POST', '/sync', otherClientToken);
    t.equal(res.statusCode, 403, 'a client token without notes:sync is refused with 403');
    t.equal(res.json().code, 'insufficient_scope', 'the refusal is insufficient_scope');
    t.match(
      res.headers['www-authenticate'],
      /error="insufficient_scope".*scope="notes:sync"/,
      'the challenge names notes:sync as the scope needed',
    );
  });

  t.test('each route refuses the other kind of token as invalid_token', async (t) => {
    const userOnMachine = await call('POST', '/sync', supportToken);
    t.equal(userOnMachine.statusCode, 401, 'a user token is refused on the machine route');
    t.equal(userOnMachine.json().code, 'invalid_token', 'the user token on the machine route is an invalid_token');
    const clientOnUser = await call('GET', '/reports', syncToken);
    t.equal(clientOnUser.statusCode, 401, 'a client token is refused on the user route');
    t.equal(clientOnUser.json().code, 'invalid_token', 'the client token on the user route is an invalid_token');
    const clientOnNotes = await call('GET', '/notes', syncToken);
    t.equal(clientOnNotes.statusCode, 401, 'routes that name no kind keep accepting user tokens only');
    t.equal(
      (await call('GET', '/notes', plainUser.accessToken)).statusCode,
      200,
      'a plain user token is still accepted on /notes',
    );
  });

  t.test('as functions: tokenKind, requireRoles and requireScopes on verified claims', async (t) => {
    const verifier = createVerifier({
      issuer: config.issuer,
      audience: 'tessera',
      jwksUrl: `${address}/.well-known/jwks.json`,
    });
    const user = await verifier.verify(supportToken);
    const client = await verifier.verify(syncToken, { kind: 'client' });
    t.equal(tokenKind(user), 'user', "tokenKind calls a user's verified claims a user token");
    t.equal(tokenKind(client), 'client', 'tokenKind calls a client_credentials token a client token');
    t.same(user.roles, ['support'], "the user's verified claims carry the granted support role");
    t.equal(client.scope, 'notes:sync', 'the client token carries only the scope it asked for');
    t.equal(requireRoles(user, 'support'), user, 'requireRoles hands back the claims when the role is held');
    t.equal(requireScopes(client, 'notes:sync'), client, 'requireScopes hands back the claims when the scope is held');
    for (const [name, fn] of [
      ['missing role', () => requireRoles(user, 'admin')],
      ['missing scope', () => requireScopes(client, 'notes:sync', 'notes:delete')],
      ['roles on a client token', () => requireRoles(client, 'support')],
    ] as const) {
      const err = (() => {
        try {
          fn();
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      t.ok(err instanceof TesseraVerifyError, name);
      t.equal((err as TesseraVerifyError).code, 'insufficient_scope', name);
    }
    const wrongKind = await verifier.verify(syncToken).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.equal(
      (wrongKind as TesseraVerifyError).code,
      'invalid_token',
      'verify() accepts user tokens unless told otherwise',
    );
  });
});
