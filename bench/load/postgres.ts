// PostgreSQL for the load benchmark: a fresh database in a server you name (BENCH_DATABASE_URL or a
// postgres:// DATABASE_URL), or else a private server started from Debian's package, as .ci/run does.
// The private server keeps PostgreSQL's durable defaults (fsync and synchronous_commit on): a refresh is
// measured as it costs in production, including its WAL flush.
// Also: which PostgreSQL processes to charge CPU to.
import { execFile } from 'node:child_process';
import { chown, readFile, readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { type Cleanup, freePort, tempDir } from './processes.js';
import { allProcesses, pidsCpuMs, procStat, treeCpuMs } from './proc-cpu.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as user postgres when we are root (initdb refuses root). */
function asPostgres(bin: string, args: string[]) {
  return isRoot ? run('runuser', ['-u', 'postgres', '--', bin, ...args]) : run(bin, args);
}

async function postgresBinDir(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql').catch(() => [] as string[])).filter((v) => /^\d+$/.test(v));
  if (versions.length === 0) {
    throw new Error("no PostgreSQL found: install Debian's postgresql package, or give a server in BENCH_DATABASE_URL");
  }
  return `/usr/lib/postgresql/${versions.sort((a, b) => Number(a) - Number(b)).at(-1)}/bin`;
}

export interface PostgresServer {
  /** URL of the server's maintenance database (to create and drop databases in). */
  url: string;
  /** A sentence for the report. */
  description: string;
  /** Private: every process of the server is ours to charge. External: only our database's backends. */
  postmasterPid: number | undefined;
  private: boolean;
}

export async function startPrivatePostgres(cleanup: Cleanup): Promise<PostgresServer> {
  const bin = await postgresBinDir();
  const root = await tempDir(cleanup, 'tessera-bench-pg-');
  if (isRoot) await chown(root, ...(await postgresIds()));
  const data = `${root}/data`;
  const port = await freePort();
  await asPostgres(`${bin}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${root} -c max_connections=200`;
  cleanup.add('stop the private PostgreSQL', async () => {
    await asPostgres(`${bin}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  });
  try {
    await asPostgres(`${bin}/pg_ctl`, ['-D', data, '-l', `${root}/log`, '-w', '-o', options, 'start']);
  } catch (err) {
    const log = await readFile(`${root}/log`, 'utf8').catch(() => '');
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
  }
  const postmasterPid = Number((await readFile(`${data}/postmaster.pid`, 'utf8')).split('\n')[0]);
  const version = bin.split('/').at(-2);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    description: `private PostgreSQL ${version} on 127.0.0.1:${port} (fsync on, synchronous_commit on)`,
    postmasterPid,
    private: true,
  };
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return [Number(uid), Number(gid)];
}

/** A server someone else runs. Its postmaster is found through /proc when it runs on this machine. */
export async function externalPostgres(url: string): Promise<PostgresServer> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; version: string; fsync: string }>(
      "SELECT pg_backend_pid() AS pid, current_setting('server_version') AS version, current_setting('fsync') AS fsync",
    );
    const backend = procStat(rows[0]!.pid);
    const postmaster = backend ? procStat(backend.ppid) : undefined;
    const where = new URL(url);
    return {
      url,
      description: `PostgreSQL ${rows[0]!.version} at ${where.host} (given; fsync ${rows[0]!.fsync})`,
      postmasterPid: postmaster?.pid,
      private: false,
    };
  } finally {
    await client.end();
  }
}

/** Creates an empty database for one benchmark. Returns its URL and name. */
export async function freshDatabase(cleanup: Cleanup, server: PostgresServer): Promise<{ url: string; name: string }> {
  const name = `tessera_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  // A private server is removed whole at the end; in a given one, the database is dropped.
  if (!server.private)
    cleanup.add(`drop database ${name}`, async () => {
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    });
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return { url: url.toString(), name };
}

/**
 * A function giving the CPU (ms) spent so far by the PostgreSQL processes serving the benchmark, or
 * undefined when they can't be seen (a remote server). A private server: the postmaster and everything
 * under it. A shared server: the backends connected to our database and the server's auxiliary
 * processes (WAL writer, checkpointer…, which also work for the other databases there).
 */
export async function postgresCpuMeter(
  cleanup: Cleanup,
  server: PostgresServer,
  database: string,
): Promise<(() => Promise<number>) | undefined> {
  const postmaster = server.postmasterPid;
  if (postmaster === undefined) return undefined;
  if (server.private) return async () => treeCpuMs(postmaster);
  const monitor = new pg.Client({ connectionString: server.url }); // not in our database, so not counted
  await monitor.connect();
  cleanup.add('close the PostgreSQL monitor connection', () => monitor.end());
  return async () => {
    const { rows } = await monitor.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 OR (datname IS NULL AND backend_type <> $2)',
      [database, 'client backend'],
    );
    const procs = allProcesses();
    return pidsCpuMs([postmaster, ...rows.map((r) => r.pid)], procs);
  };
}
