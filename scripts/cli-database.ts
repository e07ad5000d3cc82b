// What the operator commands (`npm run users`, `npm run clients`, `npm run webhooks`, `npm run api-keys`)
// share: the configuration and DATABASE_URL opened the way the service does, and ending with a message and an exit code (2 usage or refused input, 3 embedded database
// in use by the running service, 4 not found) after the database is closed. The commands themselves call the
// same domain code as /admin, so each change writes its audit row with the actor "cli".
import { randomUUID } from 'node:crypto';
import { loadConfig, ConfigError, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/open.js';
import { DataDirError } from '../src/db/data-dir.js';
import { DomainError } from '../src/domain/domain-error.js';
import type { RequestMeta } from '../src/domain/audit.js';

/** Ends the command with a message and an exit code (after the database is closed). */
class Failure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export function fail(message: string, exitCode: number): never {
  throw new Failure(message, exitCode);
}

/** The audit metadata of one command run. */
export function cliMeta(command: string): RequestMeta {
  return { ip: 'local', userAgent: command, requestId: `cli-${randomUUID()}` };
}

/**
 * Loads the configuration (a command serves nothing: ISSUER is not required), opens DATABASE_URL, runs `work`,
 * closes the database. `elsewhere` says what to do instead while the service holds the embedded database.
 * A DomainError becomes exit 2 with its code (4 for not_found).
 */
export async function withDatabase(
  elsewhere: string,
  work: (database: Database, config: Config) => Promise<void>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, { serving: false });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  let database: Database;
  try {
    database = await openDatabase(config.databaseUrl);
  } catch (err) {
    if (err instanceof DataDirError) fail(`${err.message}. Stop the service first, or ${elsewhere}.`, 3);
    throw err;
  }
  try {
    await work(database, config);
  } catch (err) {
    if (err instanceof DomainError)
      fail(`${err.code}: ${err.publicMessage ?? err.message}`, err.code === 'not_found' ? 4 : 2);
    throw err;
  } finally {
    await database.close();
  }
}

/** Runs a command's main, turning a Failure into its message on stderr and its exit code. */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    console.error(err.message);
    process.exitCode = err.exitCode;
  }
}
