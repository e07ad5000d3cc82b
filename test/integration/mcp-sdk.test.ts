// The official MCP TypeScript SDK's client connects, unaided, to the example MCP server (examples/mcp-server/)
// protected by a listening Tessera: 401 → RFC 9728 protected-resource metadata → RFC 8414 authorization-server
// metadata → RFC 7591 dynamic registration → authorization (PKCE S256, `resource`) → token → tool call; then a
// tool that needs a scope the token lacks → 403 insufficient_scope → the SDK asks again with the scope → success.
// The user's side (sign-in and consent on the built-in pages) is driven over HTTP with the forms' CSRF tokens,
// as a browser without JavaScript would (FetchBrowser); the SDK does everything else at its default settings.
import t, { type Test } from 'tap';
import { decodeJwt } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { buildTestApp, login, register } from '../helper.js';
import { AgentProvider, connect, text } from '../mcp-agent.js';
import { freePort } from '../free-port.js';
import { FetchBrowser, SystemClock } from '../oauth-server-fixtures.js';
import { buildMcpService } from '../../examples/mcp-server/app.js';

const SCOPES = 'openid offline_access notes:read notes:write';

async function servers(t: Test) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const mcpPort = await freePort();
  const resource = `http://127.0.0.1:${mcpPort}/mcp`;
  const built = await buildTestApp(t, {
    clock: new SystemClock(),
    env: {
      ISSUER: issuer,
      RESOURCES: resource,
      DYNAMIC_REGISTRATION: 'true',
      DYNAMIC_REGISTRATION_SCOPES: SCOPES,
    },
  });
  await built.app.listen({ port, host: '127.0.0.1' });
  const mcp = await buildMcpService({ issuer, resource });
  t.teardown(() => mcp.close());
  await mcp.listen({ port: mcpPort, host: '127.0.0.1' });
  return { ...built, issuer, resource };
}

t.test('the MCP SDK client finds Tessera, registers, gets consent and calls a tool, then steps up', async (t) => {
  const { app, issuer, resource } = await servers(t);
  const user = await register(app);
  const provider = new AgentProvider(new FetchBrowser(issuer), user.email);
  const client = new Client({ name: 'tessera-test-agent', version: '1.0.0' });

  const transport = await connect(client, resource, provider);
  t.ok(provider.info?.client_id, 'the SDK registered itself at /oauth/register');
  t.equal(await app.services.database.prisma.dynamicRegistration.count(), 1, 'as a dynamic client');
  const first = provider.authorizations[0]!;
  t.equal(first.origin + first.pathname, `${issuer}/oauth/authorize`, "it found Tessera's authorization endpoint");
  t.equal(first.searchParams.get('resource'), resource, 'it named the MCP server as the resource');
  t.equal(first.searchParams.get('code_challenge_method'), 'S256', 'with PKCE S256');
  t.equal(first.searchParams.get('scope'), 'notes:read', 'asking for the scope the 401 challenge named');
  const claims = decodeJwt(provider.saved!.access_token);
  t.equal(claims.aud, resource, "the token's audience is the MCP server");

  const listed = text(await client.callTool({ name: 'list_notes', arguments: {} }));
  t.equal(listed.user, user.user.id, 'the tool call succeeds as the user who consented');

  // add_note needs notes:write: the server answers 403 insufficient_scope and the SDK asks the user again.
  await t.rejects(
    client.callTool({ name: 'add_note', arguments: {} }),
    { message: /Unauthorized/ },
    'the 403 sends the SDK back to the authorization endpoint',
  );
  const stepUp = provider.authorizations[1]!;
  t.equal(stepUp.searchParams.get('scope'), 'notes:read notes:write', 'for the scopes the 403 challenge named');
  await transport.finishAuth(provider.code);
  t.match(String(decodeJwt(provider.saved!.access_token).scope), /notes:write/, 'the new token carries notes:write');
  const added = text(await client.callTool({ name: 'add_note', arguments: {} }));
  t.equal(added.added, true, 'the tool call that needed the new scope succeeds');
  await client.close();
});

t.test('the MCP server refuses a Tessera token issued for another audience', async (t) => {
  const { app, resource } = await servers(t);
  const user = await register(app);
  const { accessToken } = await login(app, user.email);
  const res = await fetch(resource, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${accessToken}`,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  t.equal(res.status, 401, "a user's own Tessera token (aud tessera) is not a token for this server");
  t.match(
    res.headers.get('www-authenticate'),
    /error="invalid_token".*resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/,
    'the challenge points at the protected-resource metadata',
  );
});
