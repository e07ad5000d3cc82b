// Raw sockets for tests that must get below HTTP clients: malformed requests, slow clients, timeouts.
// A real listening server (loopback only) is the only way to see what Node itself answers.
import net from 'node:net';
import type { Test } from 'tap';
import type { TestApp } from './helper.js';

/** Listens on 127.0.0.1 (a free port) and returns the port; the server closes with the app. */
export async function listen(app: TestApp): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as net.AddressInfo).port;
}

export interface RawResponse {
  /** 0 when the server closed the connection without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

export function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '', raw };
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: raw.slice(end + 4), raw };
}

/**
 * Opens a connection, writes `chunks` (a function gets the socket to write to at its own pace),
 * and resolves with everything the server sent once it closes the connection.
 */
export function rawExchange(
  port: number,
  send: string | Buffer | ((socket: net.Socket) => void),
  opts: { localAddress?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', ...opts });
    const received: Buffer[] = [];
    socket.on('data', (d) => received.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server may cut the connection while we still write: what it answered is what counts.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('close', () => resolve(parseResponse(Buffer.concat(received).toString('latin1'))));
    socket.on('connect', () => {
      if (typeof send === 'function') send(socket);
      else socket.write(send);
    });
  });
}

/** Fails the test if `promise` hasn't settled within `ms` (a generous bound, not a measurement). */
export async function within<T>(t: Test, ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } catch (err) {
    t.fail((err as Error).message);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
