// A free TCP port on loopback, for the real servers tests start (Tessera, Redis, PostgreSQL, proxies).
//
// Tests often need a port before the server exists (Tessera's ISSUER names it), so there is a gap between choosing
// the port and listening on it. A port from the kernel (`listen(0)`) comes from the ephemeral range, which every
// `listen(0)` and every outgoing connection on the machine draws from too: an identity provider started in that
// gap, or a connection of the other test process, could take it (seen as EADDRINUSE). So the port is chosen at
// random below the ephemeral range, which the kernel never hands out by itself, checked free by binding it, and
// not handed out twice by one process. Where the ephemeral range starts too low to leave room (under 12,000), it
// falls back to the kernel's choice, as before.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const handedOut = new Set<number>();

/** The lowest port of the kernel's ephemeral range (Linux's default when it can't be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

const HIGH = ephemeralLow() - 1;
// Above 10080, the highest of the ports browsers and fetch refuse to connect to.
const LOW = Math.max(10_081, HIGH - 12_000);
const ROOM = HIGH - LOW >= 2_000;

/** A port the kernel picks (from the ephemeral range). */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  if (!ROOM) return kernelPort();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${LOW} and ${HIGH}`);
}
