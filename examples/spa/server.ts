// Serves the example SPA (public/) and the built @tessera/client (packages/client/dist, at /sdk/), so the
// SDK runs in a browser exactly as an app would ship it. Two ways to reach Tessera:
//   same origin   (PROXY=1) this server forwards /auth/* to Tessera, as a reverse proxy in front of both would;
//                 the refresh cookie is then this origin's, and Tessera needs no CORS_ORIGINS.
//   cross origin  (default) the page calls TESSERA_URL itself; Tessera lists this page's origin in
//                 CORS_ORIGINS, and both must be the same site for the SameSite=Strict cookie (README, "From a
//                 browser SPA": http://localhost:5173 and http://localhost:3000 are; 127.0.0.1 and localhost are not).
//
//   npm run build && TESSERA_URL=http://localhost:3000 PORT=5173 npm run example:spa
//   CORS_ORIGINS=http://localhost:5173 npm start    # Tessera, in another terminal
import { createServer, request as forward, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FILES: Record<string, string> = {
  '/': path.join(HERE, 'public/index.html'),
  '/app.js': path.join(HERE, 'public/app.js'),
};
const SDK = path.join(HERE, '../../packages/client/dist');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };

export interface SpaOptions {
  port: number;
  /** Tessera's origin, e.g. http://localhost:3000. */
  tessera: string;
  /** Forward /auth/* to Tessera and let the page call its own origin. */
  proxy: boolean;
}

export async function serveSpa({ port, tessera, proxy }: SpaOptions): Promise<Server> {
  const config = `export const baseUrl = ${JSON.stringify(proxy ? '' : tessera)};\n`;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://spa');
    if (proxy && url.pathname.startsWith('/auth/')) {
      const upstream = new URL(url.pathname + url.search, tessera);
      const out = forward(upstream, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.writeHead(502).end());
      req.pipe(out);
      return;
    }
    const send = (type: string, body: string | Buffer) =>
      res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' }).end(body);
    if (url.pathname === '/config.js') {
      send(TYPES['.js']!, config);
      return;
    }
    const file =
      FILES[url.pathname] ??
      (/^\/sdk\/[a-z-]+\.js$/.test(url.pathname) ? path.join(SDK, url.pathname.slice(5)) : undefined);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => send(TYPES[path.extname(file)]!, body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT || 5173);
  const tessera = process.env.TESSERA_URL || 'http://localhost:3000';
  await serveSpa({ port, tessera, proxy: process.env.PROXY === '1' });
  console.log(`SPA at http://localhost:${port}, Tessera at ${tessera}${process.env.PROXY === '1' ? ' (proxied)' : ''}`);
}
