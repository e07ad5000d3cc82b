// The floor for a static document: Fastify's hello world, listening like Tessera (one process,
// 127.0.0.1, logging off). Tessera's JWKS is a static document too, so it should come close to this;
// the gap is what Tessera's hooks (security headers, CORS, request logging) cost.
// Usage: node --import tsx bench/load/hello-server.ts <port>
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
