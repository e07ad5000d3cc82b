// The official MCP TypeScript SDK's client identifies itself with a Client ID Metadata Document instead of
// registering: Tessera's metadata says client_id_metadata_document_supported, so the SDK (at its defaults)
// sends its document's https URL as client_id; Tessera fetches it (from a local https fixture with a
// throwaway CA: test/client-document-server.ts), the user consents, the SDK gets a token for the MCP server
// and calls a tool; then a tool that needs more → 403 insufficient_scope → re-authorization with the larger
// scope (the document's client again, no registration anywhere) → success.
import t from 'tap';
import { decodeJwt } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { buildTestApp, register } from '../helper.js';
import { freePort } from '../free-port.js';
import { FetchBrowser, SystemClock } from '../oauth-server-fixtures.js';
import { buildMcpService } from '../../examples/mcp-server/app.js';
import { startDocumentServer } from '../client-document-server.js';
import { AgentProvider, connect, text } from '../mcp-agent.js';

t.test('the MCP SDK client signs in with its metadata document and steps up on 403 insufficient_scope', async (t) => {
  const fixture = await startDocumentServer(t);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const mcpPort = await freePort();
  const resource = `http://127.0.0.1:${mcpPort}/mcp`;
  const { app } = await buildTestApp(t, {
    clock: new SystemClock(),
    env: {
      ISSUER: issuer,
      RESOURCES: resource,
      CLIENT_ID_METADATA_DOCUMENTS: 'true',
      CLIENT_ID_METADATA_DOCUMENT_SCOPES: 'openid notes:read notes:write',
    },
    documentFetch: { allowLoopback: true, ca: fixture.ca },
  });
  await app.listen({ port, host: '127.0.0.1' });
  const mcp = await buildMcpService({ issuer, resource });
  t.teardown(() => mcp.close());
  await mcp.listen({ port: mcpPort, host: '127.0.0.1' });

  const documentUrl = `${fixture.origin}/agent/client.json`;
  fixture.json(
    '/agent/client.json',
    {
      client_id: documentUrl,
      client_name: 'Test agent',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    { 'cache-control': 'max-age=3600' },
  );
  const user = await register(app);
  const provider = new AgentProvider(new FetchBrowser(issuer), user.email, documentUrl);
  const client = new Client({ name: 'tessera-test-agent', version: '1.0.0' });

  const transport = await connect(client, resource, provider);
  t.equal(provider.info?.client_id, documentUrl, 'the SDK used its document URL as client_id');
  t.equal(await app.services.database.prisma.dynamicRegistration.count(), 0, 'without registering');
  const first = provider.authorizations[0]!;
  t.equal(first.searchParams.get('client_id'), documentUrl, 'the authorization request names the document');
  t.equal(first.searchParams.get('resource'), resource, 'and the MCP server as the resource');
  const claims = decodeJwt(provider.saved!.access_token);
  t.equal(claims.aud, resource, "the token's audience is the MCP server");
  t.equal(claims.client_id, documentUrl, 'and its client is the document URL');
  const listed = text(await client.callTool({ name: 'list_notes', arguments: {} }));
  t.equal(listed.user, user.user.id, 'the tool call succeeds as the user who consented');

  await t.rejects(
    client.callTool({ name: 'add_note', arguments: {} }),
    { message: /Unauthorized/ },
    'the 403 insufficient_scope sends the SDK back to the authorization endpoint',
  );
  const stepUp = provider.authorizations[1]!;
  t.equal(stepUp.searchParams.get('scope'), 'notes:read notes:write', 'for the scopes the 403 challenge named');
  t.equal(stepUp.searchParams.get('client_id'), documentUrl, 'as the same document client');
  await transport.finishAuth(provider.code);
  t.match(String(decodeJwt(provider.saved!.access_token).scope), /notes:write/, 'the new token carries notes:write');
  const added = text(await client.callTool({ name: 'add_note', arguments: {} }));
  t.equal(added.added, true, 'the tool call that needed the larger scope succeeds');
  t.equal(fixture.hits.get('/agent/client.json'), 1, 'the document was fetched once, then used from the cache');
  await client.close();
});
