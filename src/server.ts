// Entry point (`node dist/src/server.js`). Module loading is most of a start's CPU: Node compiles Fastify, TypeBox,
// the Prisma client and the routes on every start. From Node 22.1 on, Node keeps the compiled code in a cache
// directory and a restart reuses it: in the operating system's temp dir by default, NODE_COMPILE_CACHE=<dir>
// elsewhere, NODE_DISABLE_COMPILE_CACHE=1 to turn it off. The cache must be on before the first import it is to
// speed up, so this file imports nothing else statically and loads the service (src/main.ts) after it. On older Node
// versions, or where the directory cannot be written, the service starts as before, uncached.
import module from 'node:module';

// Node 20 has neither function; the types (@types/node 20) do not know them.
const compileCache = module as unknown as { enableCompileCache?: () => unknown; flushCompileCache?: () => void };
if (process.env.NODE_DISABLE_COMPILE_CACHE === undefined) compileCache.enableCompileCache?.();

const { main } = await import('./main.js');
await main(() => compileCache.flushCompileCache?.());
