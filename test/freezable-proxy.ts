// A TCP proxy that can stop forwarding without closing anything: what a hung database looks like from the
// service (a stopped server process, a network path that drops packets). Connections stay open, new ones are
// accepted, no byte moves until thaw() delivers everything held back. Loopback only; closes with the test.
import net from 'node:net';
import type { Test } from 'tap';

export interface FreezableProxy {
  port: number;
  freeze(): void;
  thaw(): void;
}

export async function startFreezableProxy(t: Test, target: { host: string; port: number }): Promise<FreezableProxy> {
  let frozen = false;
  const held: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const forward = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (frozen) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const send of held.splice(0)) send();
    },
  };
}
