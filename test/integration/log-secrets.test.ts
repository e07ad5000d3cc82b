// No password, token or cookie reaches the logs at any level: not from valid requests carrying them, and
// not from malformed ones, whose raw bytes Node hands over with the error (Fastify logged them at trace).
// A real listening server with a log stream, raw sockets for what no HTTP client would send.
import t from 'tap';
import { PASSWORD, buildTestApp, createTestDatabase, login, register } from '../helper.js';
import { listen, rawExchange } from '../net-helper.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const BEARER = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LWJlYXJlci1wYXlsb2Fk.c2lnbmF0dXJlLXNlY3JldA';
const COOKIE = 'refresh-cookie-secret-0123456789abcdef';
const LEAKED_PASSWORD = 'hunter2-password-secret';

/** The secret as it would appear in a log line: in clear, or as the bytes of a serialised Buffer, hex or base64. */
function appearsIn(log: string, secret: string): boolean {
  const bytes = Buffer.from(secret);
  return [secret, [...bytes].join(','), bytes.toString('hex'), bytes.toString('base64').slice(0, 16)].some((form) =>
    log.includes(form),
  );
}

function requestsCarryingSecrets(): string[] {
  const auth = `Authorization: Bearer ${BEARER}\r\nCookie: tessera_refresh=${COOKIE}\r\n`;
  const body = JSON.stringify({ email: 'someone@example.com', password: LEAKED_PASSWORD });
  const json = `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  return [
    // Malformed HTTP: Node's parser refuses these, with the bytes read so far attached to the error.
    `POST /auth/login HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: nope\r\n\r\n${body}`,
    `POST /auth/login HTTP/1.1\r\nHost: x\r\n${auth}X-Bad\x01: y\r\n${json}\r\n${body}`,
    `POST /auth/login HTTP/1.1\r\nHost: x\r\n${auth}${json}Transfer-Encoding: chunked\r\n\r\n${body}`,
    `POST /auth/login HTTP/1.1\r\nHost: x\r\n${auth}X-Big: ${'a'.repeat(20000)}\r\n\r\n${body}`,
    `${LEAKED_PASSWORD} ${BEARER} HTTP/1.1\r\n${auth}\r\n`,
    // Bad URL (Fastify's frameworkErrors), no Host, wrong content type, malformed JSON.
    `POST /auth/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}${json}\r\n${body}`,
    `POST /auth/login HTTP/1.1\r\nConnection: close\r\n${auth}${json}\r\n${body}`,
    `POST /auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    `POST /auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length - 1}\r\n\r\n${body.slice(0, -1)}`,
    // Well-formed requests carrying them.
    `POST /auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}${json}\r\n${body}`,
    `GET /auth/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}\r\n`,
    `POST /auth/refresh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}\r\n`,
    `POST /auth/logout HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}\r\n`,
  ];
}

// One app per level, all at once: each waits about a second for its request timeout (the 408 case), and those
// waits overlap instead of adding up. They share one database (each registers its own account): six databases at
// once made the test process load four more PGlite instances, about 3 s of CPU, for nothing this test checks.
t.test('every LOG_LEVEL', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  t.jobs = LEVELS.length;
  for (const level of LEVELS) {
    t.test(
      `LOG_LEVEL=${level}: no bearer token, refresh cookie or password in the logs, from malformed or valid requests`,
      { buffered: true },
      async (t) => {
        const { app, rawLogs } = await buildTestApp(t, {
          db,
          captureLogs: true,
          env: { LOG_LEVEL: level, REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '1000' },
        });
        const port = await listen(app);
        // A real account too: a successful login, a refresh and me with real secrets.
        const { email } = await register(app);
        const real = await login(app, email);
        await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${real.accessToken}` } });
        await app.inject({ method: 'POST', url: '/auth/refresh', cookies: { tessera_refresh: real.refresh } });

        const answers = await Promise.all(requestsCarryingSecrets().map((request) => rawExchange(port, request)));
        // A body cut off by the request timeout: the bytes read so far go nowhere either.
        answers.push(
          await rawExchange(
            port,
            `POST /auth/login HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${BEARER}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"password":"${LEAKED_PASSWORD}"`,
          ),
        );
        t.ok(
          answers.every((a) => a.status >= 200),
          'every request was answered',
        );
        t.ok(
          answers.some((a) => a.status === 400) &&
            answers.some((a) => a.status === 431) &&
            answers.some((a) => a.status === 408),
          'malformed and slow ones included',
        );
        await app.close();

        const all = rawLogs.join('\n');
        if (level === 'trace' || level === 'debug' || level === 'info')
          t.ok(all.includes('client_error'), 'client errors are logged (by code)');
        for (const [name, secret] of [
          ['bearer token', BEARER],
          ['refresh cookie', COOKIE],
          ['password', LEAKED_PASSWORD],
          ['real password', PASSWORD],
          ['real access token', real.accessToken.split('.')[2]!],
          ['real refresh token', real.refresh],
        ] as const) {
          t.notOk(appearsIn(all, secret), `no ${name} in the logs`);
        }
        t.notOk(all.includes('rawPacket'), 'no raw packet field at all');
      },
    );
  }
});
