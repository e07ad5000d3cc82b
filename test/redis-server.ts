// A real redis-server for tests: a throwaway one on a free loopback port, stopped at the test's end.
// Tests that need it fail, with the fix in the message, when redis-server is not installed.
import { spawn, spawnSync } from 'node:child_process';
import type { Test } from 'tap';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

export interface TestRedis {
  url: string;
  /** Stops the server, as an outage would. */
  stop(): Promise<void>;
}

export async function startRedis(t: Test): Promise<TestRedis> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('these tests need a real Redis: install redis-server (Debian: apt-get install redis-server)');
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await gone;
  };
  t.teardown(stop);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (exited || i > 100) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url, stop };
}
