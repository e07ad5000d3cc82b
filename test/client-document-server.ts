// A client that hosts its Client ID Metadata Document: an https server on a loopback port with a throwaway
// CA made here (no internet, no files), whose answers a test chooses per path (the document, a redirect,
// a huge body, a wrong content type, a slow answer) and which counts the requests it got, so a test can
// prove how many times Tessera fetched.
// @peculiar/x509's CommonJS build (what a test process that loads many files gets) needs a Reflect polyfill
// loaded first; its ESM build does not say so.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as x509 from '@peculiar/x509';
import type { Test } from 'tap';

x509.cryptoProvider.set(webcrypto as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

const pem = (der: ArrayBuffer, label: string) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()}\n-----END ${label}-----\n`;

/** The name a test's DNS fixture (test/dns-server.ts) points at the document server; on its certificate. */
export const DOCUMENT_HOST = 'documents.test';

/** A CA and a certificate for 127.0.0.1, localhost and DOCUMENT_HOST signed by it. */
async function makeCertificates() {
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Tessera test CA',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const leafKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=127.0.0.1',
    issuer: ca.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
        { type: 'dns', value: DOCUMENT_HOST },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const key = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  return { ca: ca.toString('pem'), cert: leaf.toString('pem'), key: pem(key, 'PRIVATE KEY') };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface DocumentServer {
  /** https://127.0.0.1:<port> */
  origin: string;
  /** The CA to trust (FetchOptions.ca). */
  ca: string;
  /** Requests received per path. */
  hits: Map<string, number>;
  /** Answers this path with this handler. */
  on(path: string, handler: Handler): void;
  /** Serves this JSON as application/json at path, with these extra headers. */
  json(path: string, body: unknown, headers?: Record<string, string>): void;
}

export async function startDocumentServer(t: Test): Promise<DocumentServer> {
  const { ca, cert, key } = await makeCertificates();
  const handlers = new Map<string, Handler>();
  const hits = new Map<string, number>();
  const server: Server = createServer({ cert, key }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = handlers.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    ca,
    hits,
    on: (path, handler) => handlers.set(path, handler),
    json: (path, body, headers = {}) =>
      handlers.set(path, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      }),
  };
}
