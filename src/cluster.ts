// WORKERS > 1: the primary process of a node:cluster. It prepares what workers would otherwise race
// over (migrations, the first keys), forks the workers (each one runs src/server.ts's worker path and
// shares the listening port), restarts a worker that dies later (with backoff), and on SIGTERM/SIGINT
// passes the signal on and waits for every worker to drain. A worker that fails at boot stops everything:
// the cause is a configuration or environment problem that a restart loop would only hide.
import cluster, { type Worker } from 'node:cluster';
import { pino } from 'pino';
import type { Config } from './config.js';
import { openDatabase } from './db/open.js';
import { ensureKeys } from './domain/keys/key-rotation.js';
import { isReadOnlyError } from './domain/keys/key-files.js';
import { rotationPolicy } from './domain/keys/key-policies.js';

const MAX_BACKOFF_MS = 30_000;

export async function runPrimary(config: Config): Promise<void> {
  const log = pino({ level: config.logLevel });
  const database = await openDatabase(config.databaseUrl, { timeouts: config.databaseTimeouts });
  await database.close();
  try {
    const done = await ensureKeys(config.keysDir, new Date(), rotationPolicy(config), {
      generateIfEmpty: config.env !== 'production',
    });
    if (done.length > 0) log.info({ event: 'keys_changed', done }, 'key set prepared');
  } catch (err) {
    if (!isReadOnlyError(err)) throw err;
  }

  let stopping = false;
  let backoffMs = 1000;
  const booted = new WeakSet<Worker>();
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if ((message as { type?: string })?.type !== 'tessera-listening') return;
      booted.add(worker);
      backoffMs = 1000;
    });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      if (!booted.has(worker)) {
        log.fatal(
          { event: 'worker_boot_failed', pid: worker.process.pid, code, signal },
          'a worker failed to start; stopping',
        );
        stop('worker_boot_failed', 1);
        return;
      }
      log.error(
        { event: 'worker_died', pid: worker.process.pid, code, signal, restartInMs: backoffMs },
        'a worker died; starting another',
      );
      setTimeout(fork, backoffMs).unref();
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    });
  };

  const stop = (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log.info(
      { event: 'shutting_down', reason, workers: Object.keys(cluster.workers ?? {}).length },
      'stopping every worker',
    );
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let failed = exitCode !== 0;
    let left = workers.length;
    if (left === 0) process.exit(exitCode);
    for (const worker of workers) {
      worker.once('exit', (code) => {
        if (code !== 0) failed = true;
        if (--left === 0) process.exit(failed ? 1 : 0);
      });
      worker.process.kill('SIGTERM');
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));

  for (let i = 0; i < config.workers; i++) fork();
  log.info({ event: 'cluster_started', workers: config.workers }, 'tessera primary started its workers');
}
