// Unit tier: the pure rules of Client ID Metadata Documents (src/domain/oauth/client-document.ts) and the
// address check of their fetch (src/domain/oauth/client-document-fetch.ts): which URLs may be a client_id,
// what a document may say, how long it is cached, and which addresses Tessera never connects to.
import t from 'tap';
import { DomainError } from '../../src/domain/domain-error.js';
import { cacheSeconds, clientIdUrlProblem, documentClient } from '../../src/domain/oauth/client-document.js';
import { addressAllowed } from '../../src/domain/oauth/client-document-fetch.js';
import { clientDocumentConfig } from '../../src/config-client-documents.js';

const URL_ID = 'https://agent.example.com/oauth/client.json';
const policy = { scopes: ['openid', 'email', 'offline_access', 'notes:read'] };
const doc = (extra: Record<string, unknown> = {}) => ({
  client_id: URL_ID,
  client_name: 'Agent',
  redirect_uris: ['http://127.0.0.1/callback'],
  ...extra,
});

t.test('a client_id URL must be https, canonical, with a path and nothing that changes what it names', async (t) => {
  t.equal(clientIdUrlProblem(URL_ID), null, 'an https URL with a path is accepted');
  t.equal(clientIdUrlProblem('https://agent.example.com:8443/c'), null, 'a port is allowed');
  for (const [bad, why] of [
    ['http://agent.example.com/c', 'plain http'],
    ['https://agent.example.com/', 'no path'],
    ['https://agent.example.com', 'no path at all'],
    ['https://user:pw@agent.example.com/c', 'user information'],
    ['https://agent.example.com/c#frag', 'a fragment'],
    ['https://agent.example.com/c?x=1', 'a query'],
    ['https://agent.example.com/a/../c', 'a dot-dot segment'],
    ['https://agent.example.com/a/./c', 'a dot segment'],
    ['https://AGENT.example.com/c', 'a non-canonical host'],
    ['https://agent.example.com:443/c', 'a default port written out'],
    [`https://agent.example.com/${'a'.repeat(300)}`, 'over 128 characters'],
    [`https://agent.example.com/${'a'.repeat(103)}`, 'over 128 characters, by one'],
  ])
    t.not(clientIdUrlProblem(bad), null, `${why} is refused`);
});

t.test('a document names its own URL, public methods only, within the offered scopes', async (t) => {
  const client = documentClient(doc(), URL_ID, policy);
  t.equal(client.authMethod, 'none', 'a public client by default');
  t.same(client.grantTypes, ['authorization_code', 'refresh_token'], 'the code flow with refresh when offered');
  t.same(client.scopes, ['openid', 'email', 'notes:read', 'offline_access'], 'every offered scope without its own');
  t.equal(client.firstParty, false, 'never first party: consent is always asked');
  t.same(client.resources, [], 'no resource list of its own');
  const narrow = documentClient(doc({ scope: 'openid notes:read admin' }), URL_ID, policy);
  t.same(narrow.scopes, ['openid', 'notes:read'], 'its own scope, cut to what is offered, no refresh unasked');
  t.same(narrow.grantTypes, ['authorization_code'], 'so no refresh_token grant either');
  const named = documentClient(doc({ client_name: undefined }), URL_ID, policy);
  t.equal(named.name, 'agent.example.com', 'without a name it is called by its host');
  const refusals: [string, unknown][] = [
    ['not an object', ['x']],
    ['another client_id', doc({ client_id: 'https://other.example.com/c.json' })],
    ['a client_secret', doc({ client_secret: 'x' })],
    ['client_secret_basic', doc({ token_endpoint_auth_method: 'client_secret_basic' })],
    ['a jwks_uri', doc({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://agent.example.com/j' })],
    ['private_key_jwt without keys', doc({ token_endpoint_auth_method: 'private_key_jwt' })],
    ['first_party', doc({ first_party: true })],
    ['resources', doc({ resources: ['https://api.example.com'] })],
    ['no redirect URIs', doc({ redirect_uris: undefined })],
    ['a private-use scheme', doc({ redirect_uris: ['com.example.app:/cb'] })],
    ['plain http off loopback', doc({ redirect_uris: ['http://agent.example.com/cb'] })],
    ['the implicit grant', doc({ grant_types: ['implicit'] })],
  ];
  for (const [why, body] of refusals)
    t.throws(() => documentClient(body, URL_ID, policy), DomainError, `${why} is refused`);
});

t.test('the cache lifetime is the document’s max-age within the bounds', async (t) => {
  const bounds = { minSeconds: 300, maxSeconds: 86400 };
  t.equal(cacheSeconds('public, max-age=3600', bounds), 3600, 'max-age within bounds is kept');
  t.equal(cacheSeconds('max-age=5', bounds), 300, 'a shorter one is raised to the minimum');
  t.equal(cacheSeconds('max-age=99999999', bounds), 86400, 'a longer one is cut to the maximum');
  t.equal(cacheSeconds('no-store', bounds), 300, 'no-store gets the minimum');
  t.equal(cacheSeconds(undefined, bounds), 300, 'no header gets the minimum');
});

t.test('only public addresses are connected to; loopback only when a test allows it', async (t) => {
  for (const ok of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']) t.ok(addressAllowed(ok), `${ok} is public`);
  for (const bad of [
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '64:ff9b::a00:1',
    'not-an-ip',
  ])
    t.notOk(addressAllowed(bad), `${bad} is refused`);
  t.ok(addressAllowed('127.0.0.1', { allowLoopback: true }), 'a test may allow 127.0.0.1');
  t.ok(addressAllowed('::1', { allowLoopback: true }), 'and ::1');
  t.notOk(addressAllowed('10.0.0.1', { allowLoopback: true }), 'but never a private address');
});

t.test('the settings are checked at boot', async (t) => {
  const fail = (message: string): never => {
    throw new Error(message);
  };
  const env = {
    CLIENT_ID_METADATA_DOCUMENT_SCOPES: 'openid notes:read',
    CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS: 300,
    CLIENT_ID_METADATA_DOCUMENT_CACHE_MAX_SECONDS: 86400,
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_ADDRESS: 20,
    CLIENT_ID_METADATA_DOCUMENT_FETCHES_PER_HOST: 60,
    CLIENT_ID_METADATA_DOCUMENT_FAILURE_SECONDS: 60,
    CLIENT_ID_METADATA_DOCUMENT_TTL_DAYS: 30,
  };
  t.equal(clientDocumentConfig(env, fail).clientDocuments.enabled, false, 'off unless turned on');
  t.equal(
    clientDocumentConfig({ ...env, CLIENT_ID_METADATA_DOCUMENTS: 'true' }, fail).clientDocuments.enabled,
    true,
    'on with true',
  );
  t.throws(
    () => clientDocumentConfig({ ...env, CLIENT_ID_METADATA_DOCUMENT_CACHE_MIN_SECONDS: 90000 }, fail),
    /must not exceed/,
    'a minimum above the maximum stops the boot',
  );
  t.throws(
    () => clientDocumentConfig({ ...env, CLIENT_ID_METADATA_DOCUMENT_SCOPES: 'bad scope!' }, fail),
    /SCOPES/,
    'a malformed scope stops the boot',
  );
});
