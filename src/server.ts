// Entry point: read the config, build the app, listen; on SIGTERM/SIGINT stop taking connections,
// finish the requests in flight, close the database, exit.
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { KeyError } from './domain/keys.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await buildApp({ config });
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    await app.close();
  });
  // The socket, without a scheme: the URL to use is the issuer's (localhost and 127.0.0.1 are different sites to a browser).
  await app.listen({ port: config.port, host: config.host, listenTextResolver: (address) => `listening on ${address.replace(/^\w+:\/\//, '')}` });
  app.log.info({ issuer: config.issuer, database: app.services.database.kind, kid: app.services.keys.signing.kid }, `tessera ready at ${config.issuer}`);
}

main().catch((err: unknown) => {
  // Boot errors a operator can fix get one clear line, not a stack.
  if (err instanceof ConfigError || err instanceof KeyError) console.error(`tessera: ${err.message}`);
  else console.error('tessera: failed to start:', err);
  process.exit(1);
});
