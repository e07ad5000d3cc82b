// Unit tier: the grant seam of POST /oauth/token. The registry hands a request to the module registered for
// its grant_type and to nothing else; a public client reaches only grants that accept public clients; the
// client_credentials module turns an authenticated client into a token response through the issuer.
import t from 'tap';
import { DomainError } from '../../src/domain/domain-error.js';
import { GrantRegistry } from '../../src/domain/grants/registry.js';
import { clientCredentials } from '../../src/domain/grants/client-credentials.js';
import { param, type Grant, type GrantContext, type GrantServices } from '../../src/domain/grants/grant.js';
import type { AuthenticatedClient } from '../../src/domain/authz/client-authentication.js';
import type { ClientGrant, TokenIssuer } from '../../src/domain/tokens/token-issuer.js';
import type { ServiceClient } from '../../src/domain/tokens/service-clients.js';

const now = new Date('2026-01-01T00:00:00Z');
const clock = { now: () => now };
const meta = { ip: '127.0.0.1', requestId: 'unit' };

const serviceClient: ServiceClient = {
  id: 'orders',
  secretHash: null,
  scopes: ['orders:read', 'orders:write'],
  audience: ['orders-api'],
  jwks: null,
};
const confidential: AuthenticatedClient = {
  kind: 'confidential',
  id: 'orders',
  method: 'client_secret_basic',
  client: serviceClient,
};
const publicClient: AuthenticatedClient = { kind: 'public', id: 'spa', method: 'none' };

/** Services whose issuer and audit table record what they were asked. */
function fakeServices() {
  const issued: ClientGrant[] = [];
  const audited: unknown[] = [];
  const issuer = {
    forClient: async (client: ClientGrant) => {
      issued.push(client);
      return { access_token: 'token', token_type: 'Bearer' as const, expires_in: 900, scope: client.scopes.join(' ') };
    },
  } as unknown as TokenIssuer;
  const db = { auditEvent: { create: async (row: unknown) => void audited.push(row) } };
  return { services: { issuer, db } as unknown as GrantServices, issued, audited };
}

function context(form: GrantContext['form'], client: AuthenticatedClient = confidential): GrantContext {
  return { form, client, services: fakeServices().services, clock, meta };
}

/** A grant that records the context it was handed. */
function recordingGrant(type: string, publicClients: boolean) {
  const seen: GrantContext[] = [];
  const grant: Grant = {
    type,
    publicClients,
    async handle(ctx) {
      seen.push(ctx);
      return {
        response: { access_token: type, token_type: 'Bearer', expires_in: 1 },
        log: { event: 'test', message: 'test' },
      };
    },
  };
  return { grant, seen };
}

async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return err instanceof DomainError ? err.code : `not a DomainError: ${String(err)}`;
  }
}

t.test('the registry hands a request to the grant its grant_type names, with everything the grant needs', async (t) => {
  const a = recordingGrant('urn:example:a', false);
  const b = recordingGrant('urn:example:b', false);
  const registry = new GrantRegistry([a.grant, b.grant]);
  const ctx = context({ grant_type: 'urn:example:b', extra: 'x' });
  const result = await registry.dispatch(ctx);
  t.equal(result.response.access_token, 'urn:example:b', 'the answer is the named grant’s');
  t.equal(a.seen.length, 0, 'the other grant is not called');
  t.equal(b.seen.length, 1, 'the named grant is called once');
  t.equal(b.seen[0], ctx, 'the grant receives the form, client, services, clock and request metadata as given');
  t.same(registry.types, ['urn:example:a', 'urn:example:b'], 'discovery lists the registered grants in order');
});

t.test('an unknown, missing or repeated grant_type is unsupported_grant_type and reaches no grant', async (t) => {
  const a = recordingGrant('client_credentials', false);
  const registry = new GrantRegistry([a.grant]);
  const forms: [string, GrantContext['form']][] = [
    ['unknown', { grant_type: 'password' }],
    ['missing', {}],
    ['repeated', { grant_type: ['client_credentials', 'client_credentials'] }],
    ['different case', { grant_type: 'Client_Credentials' }],
  ];
  for (const [name, form] of forms) {
    t.equal(await refusal(registry.dispatch(context(form))), 'unsupported_grant_type', `${name} grant_type is refused`);
  }
  t.equal(a.seen.length, 0, 'no refused request reaches a grant');
});

t.test('a public client reaches only grants that accept public clients', async (t) => {
  const confidentialOnly = recordingGrant('urn:example:confidential', false);
  const open = recordingGrant('urn:example:pkce', true);
  const registry = new GrantRegistry([confidentialOnly.grant, open.grant]);
  t.equal(
    await refusal(registry.dispatch(context({ grant_type: 'urn:example:confidential' }, publicClient))),
    'unauthorized_client',
    'a public client asking for a confidential-only grant is unauthorized_client',
  );
  t.equal(confidentialOnly.seen.length, 0, 'and the grant never runs');
  await registry.dispatch(context({ grant_type: 'urn:example:pkce' }, publicClient));
  t.equal(open.seen.length, 1, 'a grant that accepts public clients runs for one');
  await registry.dispatch(context({ grant_type: 'urn:example:pkce' }));
  t.equal(open.seen.length, 2, 'and for a confidential client as well');
});

t.test('a grant type registered twice fails at boot', async (t) => {
  const a = recordingGrant('client_credentials', false);
  t.throws(() => new GrantRegistry([a.grant, a.grant]), /registered twice/, 'the duplicate is named at construction');
});

t.test(
  'Tessera registers the code, client_credentials, refresh, token exchange and device grants; client_credentials is confidential only',
  async (t) => {
    const registry = new GrantRegistry();
    t.same(
      registry.types,
      [
        'authorization_code',
        'client_credentials',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:token-exchange',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
      'the five grants are registered, in discovery order',
    );
    t.equal(
      await refusal(registry.dispatch(context({ grant_type: 'client_credentials' }, publicClient))),
      'unauthorized_client',
      'a public client may not use client_credentials',
    );
  },
);

t.test('client_credentials asks the issuer for the scopes granted, and audits the issue', async (t) => {
  const { services, issued, audited } = fakeServices();
  const ctx = {
    form: { grant_type: 'client_credentials', scope: 'orders:read' },
    client: confidential,
    services,
    clock,
    meta,
  };
  const result = await clientCredentials.handle(ctx);
  t.same(
    issued,
    [{ id: 'orders', audience: ['orders-api'], scopes: ['orders:read'] }],
    'the issuer is asked for a token of the client, its audience and the scope it asked for',
  );
  t.equal(result.response.scope, 'orders:read', 'the answer names the granted scope');
  t.equal(audited.length, 1, 'one audit row records the issue');
  t.equal(result.log.event, 'client_token_issued', 'the route logs the issue as client_token_issued');

  const all = await clientCredentials.handle({ ...ctx, form: { grant_type: 'client_credentials' } });
  t.equal(all.response.scope, 'orders:read orders:write', 'no scope asked means every scope the client has');
  t.equal(
    await refusal(clientCredentials.handle({ ...ctx, form: { grant_type: 'client_credentials', scope: 'admin' } })),
    'invalid_scope',
    'a scope outside the client’s configuration is invalid_scope',
  );
});

t.test('a grant reads one value per parameter: a repeated parameter is invalid_request', async (t) => {
  t.equal(param({ scope: 'a' }, 'scope'), 'a', 'a single value is returned as sent');
  t.equal(param({}, 'scope'), undefined, 'an absent parameter is undefined');
  t.equal(
    await refusal((async () => param({ scope: ['a', 'b'] }, 'scope'))()),
    'invalid_request',
    'a repeated parameter is refused as invalid_request',
  );
});
