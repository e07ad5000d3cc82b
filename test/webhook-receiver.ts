// A real HTTP receiver for the webhook tests, on loopback: it verifies every request with the standardwebhooks
// library (as a receiver would) against the secrets it is given, records what it accepted, and can be taken
// down (the port closed) and brought back on the same port, or made to answer a given status.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  type: string;
  body: { type: string; timestamp: string; data: Record<string, unknown> };
  /** Which of the receiver's secrets verified it (indexes into `secrets`). */
  verifiedWith: number[];
  signature: string;
}

export async function startReceiver(t: Test) {
  const received: Received[] = [];
  const rejected: string[] = [];
  let secrets: string[] = [];
  let answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(204).end();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const payload = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const verifiedWith = secrets.flatMap((s, i) => {
        try {
          new Webhook(s).verify(payload, headers);
          return [i];
        } catch {
          return [];
        }
      });
      if (verifiedWith.length === 0) {
        rejected.push(headers['webhook-id'] ?? '');
        res.writeHead(400).end('bad signature');
        return;
      }
      const body = JSON.parse(payload) as Received['body'];
      received.push({
        id: headers['webhook-id']!,
        type: body.type,
        body,
        verifiedWith,
        signature: headers['webhook-signature']!,
      });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    rejected,
    /** The secrets a delivery may verify with. */
    trust(...list: string[]) {
      secrets = list;
    },
    answerWith(fn: (req: IncomingMessage, res: ServerResponse) => void) {
      answer = fn;
    },
    async down() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async up() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
  };
}
