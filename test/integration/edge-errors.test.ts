// Hostile requests over a raw socket, including those Node or Fastify answer before any route or hook:
// every answer has the catalog's shape and code, the security headers and a request id, and echoes
// nothing of the request (path, header or body).
import t, { type Test } from 'tap';
import { errorCatalog } from '../../src/errors.js';
import { buildTestApp } from '../helper.js';
import { listen, rawExchange, type RawResponse } from '../net-helper.js';

const MARK = 'zq7reflect';
const H = 'Host: x\r\nConnection: close\r\n';
const hostile: [string, string, number, string][] = [
  ['malformed URL escape', `GET /auth/%E0%A4%A${MARK} HTTP/1.1\r\n${H}\r\n`, 400, 'invalid_request'],
  [
    'headers over the size limit',
    `GET /${MARK} HTTP/1.1\r\n${H}X-Big: ${MARK}${'a'.repeat(20000)}\r\n\r\n`,
    431,
    'headers_too_large',
  ],
  ['garbage request line', `${MARK} ${MARK}\r\n\r\n`, 400, 'invalid_request'],
  ['unknown HTTP version', `GET /${MARK} HTTP/9.9\r\n${H}\r\n`, 400, 'invalid_request'],
  [
    'a Content-Length that is not a number',
    `POST /auth/login HTTP/1.1\r\n${H}Content-Length: ${MARK}\r\n\r\n`,
    400,
    'invalid_request',
  ],
  [
    'Content-Length and Transfer-Encoding together',
    `POST /auth/login HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    400,
    'invalid_request',
  ],
  [
    'a control character in a header name',
    `GET /health/live HTTP/1.1\r\n${H}X-${MARK}\x01: y\r\n\r\n`,
    400,
    'invalid_request',
  ],
  ['no Host header', `GET /health/live?${MARK} HTTP/1.1\r\nConnection: close\r\n\r\n`, 400, 'invalid_request'],
  ['CONNECT', `CONNECT ${MARK}.example:443 HTTP/1.1\r\nHost: ${MARK}.example:443\r\n\r\n`, 400, 'invalid_request'],
  [
    'an over-long path parameter',
    `DELETE /auth/sessions/${MARK}${'a'.repeat(300)} HTTP/1.1\r\n${H}\r\n`,
    414,
    'uri_too_long',
  ],
  ['no such route', `GET /${MARK} HTTP/1.1\r\n${H}\r\n`, 404, 'not_found'],
  [
    'body over the limit',
    `POST /auth/login HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 20000\r\n\r\n${MARK}${'a'.repeat(19990)}`,
    413,
    'payload_too_large',
  ],
  [
    'body that is not JSON',
    `POST /auth/login HTTP/1.1\r\n${H}Content-Type: text/plain\r\nContent-Length: 10\r\n\r\n${MARK}`,
    415,
    'unsupported_media_type',
  ],
  [
    'malformed JSON',
    `POST /auth/login HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{"${MARK}"`,
    400,
    'malformed_json',
  ],
];

function assertCatalogAnswer(t: Test, res: RawResponse, status: number, code: string, what: string) {
  t.equal(res.status, status, `${what}: status`);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  t.same(Object.keys(body).sort(), ['code', 'message', 'request_id', 'status_code'], `${what}: the catalog's shape`);
  t.equal(body.code, code, `${what}: code`);
  t.equal(body.status_code, status, `${what}: status_code in the body`);
  t.equal(errorCatalog[code as keyof typeof errorCatalog]?.status, status, `${what}: a catalog code with that status`);
  t.match(res.headers['content-type'], /^application\/json/, `${what}: JSON`);
  t.equal(res.headers['x-request-id'], body.request_id, `${what}: x-request-id matches the body`);
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, `${what}: a request id of ours`);
  t.equal(
    res.headers['content-security-policy'],
    "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
    `${what}: CSP`,
  );
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  t.equal(res.headers['referrer-policy'], 'no-referrer', `${what}: referrer policy`);
  t.match(res.headers['strict-transport-security'], /^max-age=\d+/, `${what}: HSTS`);
  t.notOk(res.raw.toLowerCase().includes(MARK), `${what}: nothing of the request is echoed`);
}

t.test(
  'every hostile request is answered in the catalog shape, with the security headers and a request id, echoing nothing',
  async (t) => {
    const { app } = await buildTestApp(t);
    const port = await listen(app);
    for (const [what, request, status, code] of hostile) {
      assertCatalogAnswer(t, await rawExchange(port, request), status, code, what);
    }
  },
);

t.test('50 hostile requests at once are each answered from the catalog, and the server still serves', async (t) => {
  const { app } = await buildTestApp(t);
  const port = await listen(app);
  const picks = Array.from({ length: 50 }, (_, i) => hostile[i % hostile.length]!);
  const answers = await Promise.all(picks.map(([, request]) => rawExchange(port, request)));
  answers.forEach((res, i) => {
    const [what, , status, code] = picks[i]!;
    t.equal(res.status, status, what);
    t.equal(JSON.parse(res.body).code, code, what);
    t.equal(res.headers['x-content-type-options'], 'nosniff', what);
  });
  const ok = await rawExchange(port, `GET /health/live HTTP/1.1\r\n${H}\r\n`);
  t.equal(ok.status, 200, 'after the 50 hostile requests the server still serves a health check');
});

t.test('an Expect other than 100-continue is handled as if absent, with the usual headers', async (t) => {
  const { app } = await buildTestApp(t);
  const port = await listen(app);
  const res = await rawExchange(port, `GET /health/live HTTP/1.1\r\n${H}Expect: ${MARK}\r\n\r\n`);
  t.equal(res.status, 200, 'not a bare 417 from Node');
  t.equal(res.headers['x-content-type-options'], 'nosniff', 'the answer carries nosniff as every answer does');
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'the answer carries a generated request id');
});
