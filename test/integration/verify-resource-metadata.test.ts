// @tessera/verify's RFC 9728 side, through a Fastify app over inject: the protected-resource metadata document
// at the path RFC 9728 §3.1 derives from the resource, the challenge of a refusal naming it and the scopes the
// route needs, and the options that stop a misconfigured service at boot.
import t from 'tap';
import Fastify from 'fastify';
import { resourceMetadataUrl, tesseraAuth, type TesseraAuthOptions } from '@tessera/verify';

const ISSUER = 'https://auth.example.com';
const RESOURCE = 'https://api.example.com/mcp';

async function service(options: Partial<TesseraAuthOptions> = {}) {
  const app = Fastify();
  await app.register(tesseraAuth, {
    issuer: ISSUER,
    audience: RESOURCE,
    resourceMetadata: { resource: RESOURCE, scopesSupported: ['notes:read', 'notes:write'], resourceName: 'Notes' },
    ...options,
  });
  app.get('/mcp', { preHandler: app.requireAuth({ scopes: ['notes:read'] }) }, async () => ({ ok: true }));
  app.get('/open', { preHandler: app.requireAuth() }, async () => ({ ok: true }));
  return app;
}

t.test('the metadata document is served where RFC 9728 puts it for the resource', async (t) => {
  const app = await service();
  t.teardown(() => app.close());
  t.equal(resourceMetadataUrl(RESOURCE), 'https://api.example.com/.well-known/oauth-protected-resource/mcp', 'path');
  t.equal(
    resourceMetadataUrl('https://api.example.com'),
    'https://api.example.com/.well-known/oauth-protected-resource',
    'a resource without a path has the bare well-known URL',
  );
  const res = await app.inject({ url: '/.well-known/oauth-protected-resource/mcp' });
  t.equal(res.statusCode, 200, 'the document is public');
  t.same(
    res.json(),
    {
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      bearer_methods_supported: ['header'],
      scopes_supported: ['notes:read', 'notes:write'],
      resource_name: 'Notes',
    },
    'it names the resource, Tessera as its authorization server and the scopes it knows',
  );
});

t.test('a request without a token gets 401 pointing at the metadata and naming the scope needed', async (t) => {
  const app = await service();
  t.teardown(() => app.close());
  const res = await app.inject({ url: '/mcp' });
  t.equal(res.statusCode, 401, 'no token: 401');
  t.equal(res.json().code, 'missing_token', 'missing_token');
  t.equal(
    res.headers['www-authenticate'],
    `Bearer scope="notes:read", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"`,
    'the challenge has no error (no credentials were sent), the scope and the metadata URL',
  );
  const bad = await app.inject({ url: '/open', headers: { authorization: 'Bearer not.a.token' } });
  t.match(
    bad.headers['www-authenticate'],
    /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="https:\/\/api\.example\.com\/\.well-known\/oauth-protected-resource\/mcp"$/,
    'a bad token gets invalid_token and the metadata URL too',
  );
});

t.test('options that would publish a wrong document stop the service at boot', async (t) => {
  await t.rejects(
    service({ audience: 'tessera' }),
    { name: 'TypeError', message: /one of audience/ },
    'the resource must be an audience the verifier accepts, or its own tokens would be refused',
  );
  await t.rejects(
    service({ resourceMetadata: { resource: 'http://api.example.com/mcp' }, audience: 'http://api.example.com/mcp' }),
    { name: 'TypeError', message: /https/ },
    'plain http off loopback is refused',
  );
  await t.rejects(
    service({ resourceMetadata: { resource: RESOURCE, scopesSupported: ['bad scope"'] } }),
    { name: 'TypeError', message: /scopesSupported/ },
    'a scope that would break the challenge is refused',
  );
});
