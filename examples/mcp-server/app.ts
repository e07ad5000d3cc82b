// An example MCP server (Model Context Protocol, streamable HTTP) protected by Tessera: what an AI agent
// connects to. @tessera/verify publishes its RFC 9728 protected-resource metadata and answers 401 with a
// challenge that points there, so an MCP client that has never seen Tessera finds it, registers, asks the user
// and comes back with a token whose `aud` is this server. Two tools: `list_notes` needs scope notes:read (the
// scope a connection needs), `add_note` needs notes:write too: a token without it gets 403 insufficient_scope
// naming both, and the client asks the user again (step-up). Stateless: each POST gets its own MCP server.
import Fastify, { type FastifyInstance, type FastifyServerOptions, type preHandlerAsyncHookHandler } from 'fastify';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { tesseraAuth } from '@tessera/verify';

export interface McpServiceOptions {
  /** Tessera's ISSUER. */
  issuer: string;
  /** This server's MCP endpoint URL, registered at Tessera (RESOURCES): the tokens' audience. */
  resource: string;
  logger?: FastifyServerOptions['logger'];
}

const NOTES: string[] = ['Tokens for this server carry its URL in aud.'];
/** The scopes each tool needs; any other request needs notes:read. */
const TOOL_SCOPES: Record<string, string[]> = { list_notes: ['notes:read'], add_note: ['notes:read', 'notes:write'] };

function mcpServer(user: string): McpServer {
  const server = new McpServer({ name: 'tessera-notes', version: '1.0.0' });
  server.registerTool('list_notes', { description: "Lists the user's notes (scope notes:read)" }, async () => ({
    content: [{ type: 'text', text: JSON.stringify({ user, notes: NOTES }) }],
  }));
  server.registerTool('add_note', { description: 'Adds a note (scope notes:write)' }, async () => {
    NOTES.push(`a note added at ${new Date().toISOString()}`);
    return { content: [{ type: 'text', text: JSON.stringify({ user, added: true, count: NOTES.length }) }] };
  });
  return server;
}

const Refusal = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
  required: ['code', 'message'],
} as const;
const JsonRpc = { anyOf: [{ type: 'object' }, { type: 'array' }] } as const;

export async function buildMcpService(options: McpServiceOptions): Promise<FastifyInstance> {
  const { issuer, resource, logger = false } = options;
  const path = new URL(resource).pathname;
  const app = Fastify({ logger });
  await app.register(tesseraAuth, {
    issuer,
    audience: resource,
    resourceMetadata: { resource, scopesSupported: ['notes:read', 'notes:write'], resourceName: 'Tessera notes (MCP)' },
  });
  const guards = new Map<string, preHandlerAsyncHookHandler>(
    Object.entries(TOOL_SCOPES).map(([tool, scopes]) => [tool, app.requireAuth({ scopes })]),
  );
  const connect = app.requireAuth({ scopes: ['notes:read'] });

  // The guard follows the JSON-RPC call: a tool call is held to its tool's scopes, anything else to notes:read.
  const guard: preHandlerAsyncHookHandler = async function (request, reply) {
    const body = request.body as { method?: unknown; params?: { name?: unknown } } | undefined;
    const tool = body?.method === 'tools/call' && typeof body.params?.name === 'string' ? body.params.name : '';
    return (guards.get(tool) ?? connect).call(this, request, reply);
  };

  app.post(
    path,
    { preHandler: guard, schema: { body: JsonRpc, response: { 200: JsonRpc, 401: Refusal, 403: Refusal } } },
    async (request, reply) => {
      const server = mcpServer(request.auth!.sub);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      reply.hijack();
      await transport.handleRequest(request.raw, reply.raw, request.body);
    },
  );
  // Stateless: no server-sent stream to open and no session to end.
  for (const method of ['GET', 'DELETE'] as const)
    app.route({
      method,
      url: path,
      schema: { response: { 405: Refusal } },
      handler: async (_request, reply) =>
        reply.code(405).header('allow', 'POST').send({ code: 'method_not_allowed', message: 'use POST' }),
    });
  return app;
}
