// Runs the example resource service, configured from the environment:
//   TESSERA_ISSUER (required)   Tessera's ISSUER, e.g. http://127.0.0.1:3000
//   TESSERA_AUDIENCE            default tessera (TESSERA_RESOURCE when that is set)
//   TESSERA_RESOURCE            this service's URL as a registered resource (Tessera's RESOURCES): publishes
//                               RFC 9728 metadata at /.well-known/oauth-protected-resource<path>
//   TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET (required)   this service's SERVICE_CLIENTS entry at Tessera
//   PORT (default 4000, 0 = any free port), HOST (default 127.0.0.1), LOG_LEVEL (default warn)
import type { FastifyInstance } from 'fastify';
import { buildResourceService } from './app.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required (see examples/resource-service/README.md)`);
  return value;
}

function port(): number {
  const raw = process.env.PORT || '4000';
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new Error(`PORT must be 0-65535, got ${JSON.stringify(raw)}`);
  return n;
}

async function main(): Promise<void> {
  const resource = process.env.TESSERA_RESOURCE || undefined;
  const app: FastifyInstance = await buildResourceService({
    issuer: required('TESSERA_ISSUER'),
    audience: process.env.TESSERA_AUDIENCE || resource || 'tessera',
    ...(resource ? { resourceMetadata: { resource, scopesSupported: ['notes:sync'] } } : {}),
    introspection: { clientId: required('TESSERA_CLIENT_ID'), clientSecret: required('TESSERA_CLIENT_SECRET') },
    logger: { level: process.env.LOG_LEVEL || 'warn' },
  });

  // Stop taking connections, let requests in flight finish, then exit.
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (closing) return;
      closing = true;
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error('resource-service: error while closing:', err);
          process.exit(1);
        },
      );
    });
  }

  const address = await app.listen({ port: port(), host: process.env.HOST || '127.0.0.1' });
  console.log(`listening on ${address}`);
}

main().catch((err: unknown) => {
  console.error(`resource-service: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
