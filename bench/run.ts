// npm run bench: Tessera's hot paths against a reference measured in the same run on the same machine.
// Figures are ratios, so they mean the same on a fast or a slow machine.
//   reference: raw RS256 signing with jose (what any JWT issuer pays per token)
//   issue:     TokenIssuer.forSession (claims + RS256 signing)
//   verify:    AccessTokens.verify (RS256 verify + claim checks)
//   refresh:   POST /auth/refresh through Fastify inject on in-memory PGlite (rotation transaction)
//   me:        GET /auth/me (verify + session lookup)
//   introspect: POST /oauth/introspect of an access token (client check + verify + session lookup)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { hashClientSecret } from '../src/domain/tokens/service-clients.js';
import { REFRESH_COOKIE } from '../src/http/refresh-cookie.js';

async function rate(name: string, n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(20, n); i++) await fn(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const perSec = n / secs;
  console.log(`${name.padEnd(10)} ${perSec.toFixed(0).padStart(7)} ops/s  (${n} in ${secs.toFixed(2)} s)`);
  return perSec;
}

const CLIENT_SECRET = 'bench-secret-bench-secret-bench-secret-1234';
const keysDir = await mkdtemp(path.join(tmpdir(), 'tessera-bench-'));
const app = await buildApp({
  config: loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: 'pglite:memory',
    KEYS_DIR: keysDir,
    RATE_LIMIT_PER_MINUTE: '0',
    SERVICE_CLIENTS: `bench:${hashClientSecret(CLIENT_SECRET)}`,
  }),
});
try {
  const { accessTokens, tokenIssuer, keys } = app.services;
  const reference = await rate('reference', 500, () =>
    new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256' }).sign(keys.signing.privateKey),
  );
  const subject = {
    userId: '00000000-0000-4000-8000-000000000001',
    sessionId: '00000000-0000-4000-8000-000000000002',
    sessionStartedAt: new Date(),
    roles: [],
    emailVerified: false,
  };
  const issue = await rate('issue', 500, () => tokenIssuer.forSession(subject));
  const token = (await tokenIssuer.forSession(subject)).access_token;
  const verify = await rate('verify', 2000, () => accessTokens.verify(token));

  await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: 'bench@example.com', password: 'bench password 1' },
  });
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: 'bench@example.com', password: 'bench password 1' },
  });
  let cookie = login.cookies[0]!.value;
  const access = login.json().access_token as string;
  const refresh = await rate('refresh', 300, async () => {
    const r = await app.inject({ method: 'POST', url: '/auth/refresh', cookies: { [REFRESH_COOKIE]: cookie } });
    if (r.statusCode !== 200) throw new Error(`refresh failed: ${r.body}`);
    cookie = r.cookies[0]!.value;
  });
  const me = await rate('me', 1000, () =>
    app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${access}` } }),
  );

  const basic = `Basic ${Buffer.from(`bench:${CLIENT_SECRET}`).toString('base64')}`;
  const introspect = await rate('introspect', 1000, async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${access}`,
    });
    if (r.json().active !== true) throw new Error(`introspection failed: ${r.body}`);
  });

  console.log('\nratios to raw RS256 signing (higher is faster):');
  for (const [name, v] of Object.entries({ issue, verify, refresh, me, introspect }))
    console.log(`  ${name.padEnd(10)} ${(v / reference).toFixed(2)}x`);
} finally {
  await app.close();
  await rm(keysDir, { recursive: true, force: true });
}
