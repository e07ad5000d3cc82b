// The service, loaded by the entry point (src/server.ts) once Node's compile cache is on: read the config
// (WORKERS > 1: become the cluster primary, src/cluster.ts), build the app, listen; on SIGTERM/SIGINT stop taking
// connections, finish the requests in flight, close the database, exit (src/shutdown.ts).
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config.js';
import { KeyError } from './domain/keys/keys.js';
import { DataDirError } from './db/data-dir.js';
import { closeOnSignals } from './shutdown.js';

/** Starts the service; `ready` runs once it listens (the entry point writes the compile cache then). */
export async function main(ready: () => void): Promise<void> {
  try {
    await start(ready);
  } catch (err) {
    // Boot errors a operator can fix get one clear line, not a stack.
    if (err instanceof ConfigError || err instanceof KeyError || err instanceof DataDirError)
      console.error(`tessera: ${err.message}`);
    else console.error('tessera: failed to start:', err);
    process.exit(1);
  }
}

async function start(ready: () => void): Promise<void> {
  const config = loadConfig();
  if (config.workers > 1 && cluster.isPrimary) {
    const { runPrimary } = await import('./cluster.js');
    return runPrimary(config);
  }
  // Loaded here, not at the top: a cluster primary never builds an app and need not load one.
  const { buildApp } = await import('./app.js');
  const app = await buildApp({ config });
  closeOnSignals(app);
  // The socket, without a scheme: the URL to use is the issuer's (localhost and 127.0.0.1 are different sites to a browser).
  await app.listen({
    port: config.port,
    host: config.host,
    listenTextResolver: (address) => `listening on ${address.replace(/^\w+:\/\//, '')}`,
  });
  // A cluster worker tells the primary it booted (src/cluster.ts), so a later death means restart, not stop.
  process.send?.({ type: 'tessera-listening' });
  app.log.info(
    { issuer: config.issuer, database: app.services.database.kind, kid: app.services.keys.signing.kid },
    `tessera ready at ${config.issuer}`,
  );
  ready();
}
