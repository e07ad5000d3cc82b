// Shutdown that does not wait for idle keep-alive clients: once app.close() begins, every response
// still going out says `Connection: close`, so clients open a new connection (to another instance)
// instead of reusing this one; Fastify's forceCloseConnections: 'idle' (app.ts) ends the idle ones.
// Without this a drained process stays up until close-with-grace kills it.
import fp from 'fastify-plugin';

export default fp(
  async (app) => {
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close');
      done(null, payload);
    });
  },
  { name: 'tessera-graceful-close' },
);
