// Runs the example MCP server, configured from the environment:
//   TESSERA_ISSUER (required)   Tessera's ISSUER, e.g. http://127.0.0.1:3000
//   PORT (default 4100), HOST (default 127.0.0.1), LOG_LEVEL (default warn)
//   MCP_RESOURCE                this server's MCP URL; default http://<HOST>:<PORT>/mcp. Tessera must list it
//                               in RESOURCES.
import { buildMcpService } from './app.js';

async function main(): Promise<void> {
  const issuer = process.env.TESSERA_ISSUER;
  if (!issuer) throw new Error('TESSERA_ISSUER is required (see README: AI agents and MCP servers)');
  const host = process.env.HOST || '127.0.0.1';
  const port = Number(process.env.PORT || '4100');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('PORT must be 1-65535');
  const resource = process.env.MCP_RESOURCE || `http://${host}:${port}/mcp`;
  const app = await buildMcpService({ issuer, resource, logger: { level: process.env.LOG_LEVEL || 'warn' } });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.close());
  await app.listen({ port, host });
  console.log(`MCP server at ${resource}`);
}

main().catch((err: unknown) => {
  console.error(`mcp-server: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
