// @tessera/verify as another service uses it: against a listening Tessera (real JWKS over HTTP), and
// against a fake issuer (node:http) whose keys, JWKS answers and introspection answers the test controls.
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { SignJWT, decodeJwt, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import {
  createVerifier,
  tesseraAuth,
  TesseraVerifyError,
  type TesseraAlgorithm,
  type VerifierOptions,
} from '@tessera/verify';
import { ManualClock, buildTestApp, session } from '../helper.js';

// The fake issuer's ids, UUIDs like Tessera's (the contract refuses anything else in sub and sid).
const USER = '0b7e6f3a-5c1d-4e2f-9a8b-1c2d3e4f5a6b';
const SESSION = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Rejects with a TesseraVerifyError of this code. */
async function rejectsWith(t: Test, p: Promise<unknown>, code: string, name?: string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof TesseraVerifyError, `${name ?? code}: a TesseraVerifyError`);
  t.equal((err as TesseraVerifyError | undefined)?.code, code, name ?? code);
  return err as TesseraVerifyError;
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

interface TestKey {
  kid: string;
  alg: TesseraAlgorithm;
  privateKey: CryptoKey;
  jwk: JWK;
}
async function newKey(alg: TesseraAlgorithm = 'RS256', kid = `${alg}-${randomUUID()}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

type Reply = { status: number; body: string; headers?: Record<string, string> } | 'hang';

/** A stand-in for Tessera: serves a JWKS it counts requests to, and an introspection endpoint it records. */
async function fakeIssuer(t: Test) {
  const state = {
    url: '',
    keys: [] as JWK[],
    jwksFetches: 0,
    jwks: undefined as Reply | undefined, // overrides the key list
    introspection: { status: 200, body: '{"active":true}' } as Reply,
    introspected: [] as { method?: string; url?: string; authorization?: string; contentType?: string; body: string }[],
  };
  const send = (res: ServerResponse, r: Reply) => {
    if (r === 'hang') return;
    res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers }).end(r.body);
  };
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/.well-known/jwks.json') {
        state.jwksFetches++;
        return send(res, state.jwks ?? { status: 200, body: JSON.stringify({ keys: state.keys }) });
      }
      if (req.url === '/oauth/introspect') {
        const { method, url, headers } = req;
        state.introspected.push({
          method,
          url,
          authorization: headers.authorization,
          contentType: headers['content-type'],
          body: Buffer.concat(chunks).toString(),
        });
        return send(res, state.introspection);
      }
      return send(res, { status: 404, body: '{}' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(() => {
    server.closeAllConnections(); // the 'hang' answers would otherwise hold close() open
    return new Promise((resolve) => server.close(resolve));
  });

  /** A token shaped like Tessera's, signed with `key`; `claims`/`header` override (undefined removes). */
  const token = (key: TestKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: state.url,
      sub: USER,
      aud: 'orders-api',
      iat: now,
      exp: now + 900,
      jti: randomUUID(),
      sid: SESSION,
      client_id: 'tessera',
      auth_time: now,
      ...claims,
    })
      .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header })
      .sign(key.privateKey);
  };
  const verifier = (opts: Partial<VerifierOptions> = {}) =>
    createVerifier({ issuer: state.url, audience: 'orders-api', ...opts });
  return Object.assign(state, { token, verifier });
}

t.test('against a listening Tessera', async (t) => {
  const { app, config } = await buildTestApp(t, { env: { AUDIENCE: 'orders-api,billing-api' } });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const s = await session(app);
  const jwksUrl = `${address}/.well-known/jwks.json`;
  const verifier = createVerifier({ issuer: config.issuer, audience: 'orders-api', jwksUrl });

  t.test('a valid token gives its claims', async (t) => {
    const claims = await verifier.verify(s.accessToken);
    const payload = decodeJwt(s.accessToken);
    t.same(
      claims,
      {
        sub: s.user.id,
        sid: payload.sid,
        jti: payload.jti,
        iat: payload.iat,
        exp: payload.exp,
        iss: config.issuer,
        aud: ['orders-api', 'billing-api'],
        client_id: 'tessera',
        auth_time: payload.auth_time,
        email_verified: false,
        amr: ['pwd'],
        acr: '1',
      },
      'a valid token verifies to exactly the claims Tessera issued',
    );
    t.same(claims, payload, 'every claim in the token, email_verified and amr included, reaches the service');
    t.equal(claims.exp - claims.iat, 900, 'the access token lives for 900 seconds');
  });

  t.test('forged, foreign and malformed tokens are invalid_token', async (t) => {
    const [h, p, sig] = s.accessToken.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const payload = decodeJwt(s.accessToken);
    const { privateKey } = app.services.keys.signing;
    const sign = (hdr: Record<string, unknown>, body: Record<string, unknown>) =>
      new SignJWT(body).setProtectedHeader({ ...header, ...hdr }).sign(privateKey);
    const hs256 = (secret: string) => {
      const input = `${b64url({ ...header, alg: 'HS256' })}.${p}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const cases: [string, string, VerifierOptions?][] = [
      ['another audience', s.accessToken, { issuer: config.issuer, audience: 'other-api', jwksUrl }],
      ['another issuer', s.accessToken, { issuer: 'https://evil.example', audience: 'orders-api', jwksUrl }],
      ['tampered payload', `${h}.${b64url({ ...payload, sub: 'someone-else' })}.${sig}`],
      ['alg none', `${b64url({ alg: 'none', typ: 'at+jwt' })}.${p}.`],
      ['HS256 keyed with the RSA public key', hs256(await exportSPKI(app.services.keys.signing.publicKey))],
      ['typ JWT', await sign({ typ: 'JWT' }, payload)],
      ['no sid', await sign({}, { ...payload, sid: undefined })],
      ['sub not a UUID, signed with the real key', await sign({}, { ...payload, sub: 'admin' })],
      ['sid not a UUID, signed with the real key', await sign({}, { ...payload, sid: 'session-1' })],
      [
        'sub a UUID in capitals, signed with the real key',
        await sign({}, { ...payload, sub: String(payload.sub).toUpperCase() }),
      ],
      ['no kid', await sign({ kid: undefined }, payload)],
      ['signature stripped', `${h}.${p}.`],
      ['not a JWT', 'hello'],
      ['over 8192 characters', `${h}.${'A'.repeat(9000)}.${sig}`],
    ];
    for (const [name, token, opts] of cases) {
      await rejectsWith(t, (opts ? createVerifier(opts) : verifier).verify(token), 'invalid_token', name);
    }
  });

  t.test('expiry uses the real clock, with clockToleranceSeconds of skew', async (t) => {
    // Tokens are issued on the app's clock: one set an hour back issues tokens that expired 45 minutes ago.
    const past = await buildTestApp(t, { clock: new ManualClock(new Date(Date.now() - 3600_000)) });
    const pastAddress = await past.app.listen({ port: 0, host: '127.0.0.1' });
    const stale = await session(past.app);
    const err = await rejectsWith(
      t,
      createVerifier({
        issuer: config.issuer,
        audience: 'tessera',
        jwksUrl: `${pastAddress}/.well-known/jwks.json`,
      }).verify(stale.accessToken),
      'invalid_token',
      'expired',
    );
    t.match(err.cause, { code: 'ERR_JWT_EXPIRED' }, 'the jose error is the cause');

    // Issued 902 s ago: expired by two seconds, inside the default 5 s tolerance but not a 0 s one.
    past.clock.advance((Date.now() - 902_000 - past.clock.now().getTime()) / 1000);
    const justExpired = (await session(past.app)).accessToken;
    const opts = { issuer: config.issuer, audience: 'tessera', jwksUrl: `${pastAddress}/.well-known/jwks.json` };
    t.ok(await createVerifier(opts).verify(justExpired), 'accepted within the default tolerance');
    await rejectsWith(
      t,
      createVerifier({ ...opts, clockToleranceSeconds: 0 }).verify(justExpired),
      'invalid_token',
      'refused without tolerance',
    );
  });

  t.test('an unreachable JWKS is jwks_unavailable, not invalid_token', async (t) => {
    const down = createVerifier({
      issuer: config.issuer,
      audience: 'orders-api',
      jwksUrl: `http://127.0.0.1:${await deadPort()}/jwks.json`,
    });
    const err = await rejectsWith(t, down.verify(s.accessToken), 'jwks_unavailable');
    t.ok(err.cause, 'with the network error as cause');
    await rejectsWith(t, down.verify('hello'), 'invalid_token', 'a malformed token is still judged without keys');
  });
});

t.test('options are validated at construction', async (t) => {
  const ok: VerifierOptions = { issuer: 'https://auth.example.com', audience: 'orders-api' };
  t.ok(createVerifier(ok), 'a minimal issuer and audience is a valid configuration');
  t.ok(
    createVerifier({
      ...ok,
      audience: ['a', 'b'],
      algorithms: ['ES256'],
      introspection: { clientId: 'c', clientSecret: 's' },
    }),
    'several audiences, a pinned ES256 and introspection are a valid configuration',
  );
  const bad: [string, unknown][] = [
    ['alg none', { ...ok, algorithms: ['none'] }],
    ['HS256', { ...ok, algorithms: ['RS256', 'HS256'] }],
    ['no algorithms', { ...ok, algorithms: [] }],
    ['no issuer', { ...ok, issuer: '' }],
    ['issuer not a URL (no jwksUrl to derive)', { ...ok, issuer: 'tessera' }],
    ['no audience', { ...ok, audience: [] }],
    ['jwksUrl not http(s)', { ...ok, jwksUrl: 'file:///etc/passwd' }],
    ['negative tolerance', { ...ok, clockToleranceSeconds: -1 }],
    ['cooldown not a number', { ...ok, jwksCooldownSeconds: '30' }],
    ['timeout zero', { ...ok, jwksTimeoutMs: 0 }],
    ['introspection without secret', { ...ok, introspection: { clientId: 'c' } }],
    ['introspection url', { ...ok, introspection: { clientId: 'c', clientSecret: 's', url: 'nope' } }],
  ];
  for (const [name, opts] of bad) t.throws(() => createVerifier(opts as VerifierOptions), TypeError, name);
  t.throws(
    () => createVerifier({ ...ok, algorithms: ['HS256' as TesseraAlgorithm] }),
    /HS256.*not allowed/,
    'the HS256 refusal says HS256 is not allowed',
  );
});

t.test('keys: algorithms, refetch on an unknown kid, and its rate limit', async (t) => {
  const issuer = await fakeIssuer(t);
  const [rsa, ec, ed] = await Promise.all([newKey('RS256'), newKey('ES256'), newKey('EdDSA')]);
  issuer.keys.push(rsa.jwk, ec.jwk, ed.jwk);

  t.test('RS256, ES256 and EdDSA by default; only the pinned ones otherwise', async (t) => {
    const all = issuer.verifier();
    for (const key of [rsa, ec, ed]) t.equal((await all.verify(await issuer.token(key))).sub, USER, key.alg);
    const rsOnly = issuer.verifier({ algorithms: ['RS256'] });
    await rejectsWith(
      t,
      rsOnly.verify(await issuer.token(ec)),
      'invalid_token',
      'ES256 refused when only RS256 is allowed',
    );
    await rejectsWith(
      t,
      all.verify(await issuer.token(rsa, {}, { kid: ec.kid })),
      'invalid_token',
      'an RS256 token naming an EC kid',
    );
  });

  t.test(
    'a new kid is fetched once the cooldown has passed; made-up kids cost at most one fetch per cooldown',
    async (t) => {
      const randomKid = () => issuer.token(rsa, {}, { kid: randomUUID() });
      const flood = await Promise.all(Array.from({ length: 20 }, randomKid));
      const verifier = issuer.verifier(); // default cooldown: 30 s
      const before = issuer.jwksFetches;
      const fetches = () => issuer.jwksFetches - before;

      await verifier.verify(await issuer.token(rsa));
      t.equal(fetches(), 1, 'the first token fetches the JWKS');
      await verifier.verify(await issuer.token(rsa));
      t.equal(fetches(), 1, 'then it is cached');

      const next = await newKey('RS256');
      issuer.keys.push(next.jwk);
      const nextToken = await issuer.token(next);
      await rejectsWith(t, verifier.verify(nextToken), 'invalid_token', 'within the cooldown a new kid is not fetched');
      for (const token of flood) await rejectsWith(t, verifier.verify(token), 'invalid_token', 'made-up kid');
      t.equal(fetches(), 1, '21 unknown kids within the cooldown: no refetch');

      // jose reads the time from Date.now(): moving it past the cooldown stands in for waiting 30 s.
      const realNow = Date.now;
      Date.now = () => realNow() + 31_000;
      try {
        t.equal((await verifier.verify(nextToken)).sub, USER, 'after the cooldown the unknown kid triggers a refetch');
        t.equal(fetches(), 2, 'the unknown kid after the cooldown cost exactly one more fetch');
        const results = await Promise.allSettled(flood.map((token) => verifier.verify(token)));
        t.ok(
          results.every((r) => r.status === 'rejected' && (r.reason as TesseraVerifyError).code === 'invalid_token'),
          'after the refetch every made-up kid is still refused as invalid_token',
        );
        t.equal(fetches(), 2, 'a concurrent flood right after a refetch fetches nothing');
      } finally {
        Date.now = realNow;
      }
    },
  );

  t.test('a cold verifier hit by a concurrent flood fetches once', async (t) => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issuer.token(rsa, {}, { kid: randomUUID() })));
    const verifier = issuer.verifier();
    const before = issuer.jwksFetches;
    const results = await Promise.allSettled(tokens.map((token) => verifier.verify(token)));
    t.ok(
      results.every((r) => r.status === 'rejected' && (r.reason as TesseraVerifyError).code === 'invalid_token'),
      'every token in the flood with a made-up kid is refused as invalid_token',
    );
    t.equal(issuer.jwksFetches - before, 1, 'the concurrent lookups share one fetch, then the cooldown holds');
  });

  t.test('a JWKS that answers badly is jwks_unavailable', async (t) => {
    const token = await issuer.token(rsa);
    const answers: [string, Reply][] = [
      ['HTTP 500', { status: 500, body: '{}' }],
      ['not JSON', { status: 200, body: '<html>' }],
      ['not a key set', { status: 200, body: '{"keys":"no"}' }],
      ['a redirect', { status: 302, body: '', headers: { location: 'https://evil.example/jwks.json' } }],
      ['no answer within jwksTimeoutMs', 'hang'],
    ];
    for (const [name, answer] of answers) {
      issuer.jwks = answer;
      await rejectsWith(t, issuer.verifier({ jwksTimeoutMs: 200 }).verify(token), 'jwks_unavailable', name);
    }
    issuer.jwks = undefined;
  });
});

t.test('introspection: RFC 7662, failing closed', async (t) => {
  const issuer = await fakeIssuer(t);
  const key = await newKey();
  issuer.keys.push(key.jwk);
  const verifier = issuer.verifier({
    introspection: { clientId: 'svc:1', clientSecret: 'p@ss word+/', timeoutMs: 200 },
  });
  const token = await issuer.token(key);

  t.test('active: the claims; the request is a Basic-authenticated form POST', async (t) => {
    issuer.introspection = { status: 200, body: JSON.stringify({ active: true, sub: USER }) };
    const n = issuer.introspected.length;
    t.equal(
      (await verifier.verify(token, { introspect: true })).sub,
      USER,
      "an active answer gives the token's claims",
    );
    t.equal(issuer.introspected.length, n + 1, 'introspect: true sends exactly one introspection request');
    const req = issuer.introspected.at(-1)!;
    t.equal(req.method, 'POST', 'the introspection request is a POST');
    t.equal(req.url, '/oauth/introspect', 'the default URL is under the issuer');
    t.equal(req.contentType, 'application/x-www-form-urlencoded', 'the introspection request is form-urlencoded');
    t.same(
      Object.fromEntries(new URLSearchParams(req.body)),
      { token, token_type_hint: 'access_token' },
      'the form carries the token and the access_token hint',
    );
    // RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined with ':' and base64-encoded.
    t.equal(
      req.authorization,
      `Basic ${Buffer.from('svc%3A1:p%40ss+word%2B%2F').toString('base64')}`,
      'the client id and secret are form-encoded before Basic encoding',
    );

    await verifier.verify(token);
    t.equal(issuer.introspected.length, n + 1, 'without introspect: true, no request');
    await rejectsWith(
      t,
      verifier.verify(await issuer.token(key, { aud: 'other' }), { introspect: true }),
      'invalid_token',
    );
    t.equal(issuer.introspected.length, n + 1, 'a token that fails locally is never sent');
  });

  t.test('inactive: token_revoked', async (t) => {
    issuer.introspection = { status: 200, body: '{"active":false}' };
    await rejectsWith(t, verifier.verify(token, { introspect: true }), 'token_revoked');
  });

  t.test('no clear answer: introspection_unavailable, never a pass', async (t) => {
    const answers: [string, Reply][] = [
      ['HTTP 500', { status: 500, body: '{"active":true}' }],
      ['HTTP 401 (bad client credentials)', { status: 401, body: '{"error":"invalid_client"}' }],
      ['not JSON', { status: 200, body: 'active' }],
      ['active not a boolean', { status: 200, body: '{"active":"true"}' }],
      ['a redirect', { status: 307, body: '', headers: { location: 'https://evil.example/introspect' } }],
      ['no answer within timeoutMs', 'hang'],
    ];
    for (const [name, answer] of answers) {
      issuer.introspection = answer;
      const err = await rejectsWith(t, verifier.verify(token, { introspect: true }), 'introspection_unavailable', name);
      t.ok(err.cause, `${name}: with a cause for the log`);
    }
    const refused = issuer.verifier({
      introspection: { clientId: 'c', clientSecret: 's', url: `http://127.0.0.1:${await deadPort()}/introspect` },
    });
    await rejectsWith(
      t,
      refused.verify(token, { introspect: true }),
      'introspection_unavailable',
      'connection refused',
    );
  });

  t.test('introspect: true without the introspection option is a programming error', async (t) => {
    await t.rejects(
      issuer.verifier().verify(token, { introspect: true }),
      TypeError,
      'introspect: true without the introspection option rejects with a TypeError',
    );
  });
});

t.test('the Fastify plugin', async (t) => {
  const issuer = await fakeIssuer(t);
  const key = await newKey();
  issuer.keys.push(key.jwk);
  const app = Fastify();
  t.teardown(() => app.close());
  await app.register(tesseraAuth, {
    issuer: issuer.url,
    audience: 'orders-api',
    introspection: { clientId: 'c', clientSecret: 's', timeoutMs: 200 },
  });
  app.get('/me', { preHandler: app.requireAuth() }, async (request) => request.auth);
  app.post('/pay', { preHandler: app.requireAuth({ introspect: true }) }, async (request) => ({
    paid: request.auth!.sub,
  }));
  app.get('/open', async (request) => ({ auth: request.auth }));
  const token = await issuer.token(key);
  const get = (authorization?: string) =>
    app.inject({ method: 'GET', url: '/me', headers: authorization ? { authorization } : {} });

  t.test('a valid Bearer token: 200 and request.auth', async (t) => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await get(`${scheme} ${token}`);
      t.equal(res.statusCode, 200, scheme);
      t.equal(res.json().sub, USER, `${scheme}: request.auth carries the token's subject`);
      t.equal(res.json().sid, SESSION, `${scheme}: request.auth carries the token's session`);
    }
    t.same(
      (await app.inject({ method: 'GET', url: '/open' })).json(),
      { auth: null },
      'null on routes without requireAuth',
    );
    t.equal(typeof app.tessera.verify, 'function', 'the verifier is app.tessera');
  });

  t.test('no token: 401 missing_token with a bare challenge (RFC 6750 §3.1)', async (t) => {
    for (const authorization of [undefined, `Basic ${Buffer.from('a:b').toString('base64')}`]) {
      const res = await get(authorization);
      t.equal(res.statusCode, 401, `${authorization ? 'a Basic header' : 'no header'}: refused with 401`);
      t.same(
        res.json(),
        { code: 'missing_token', message: 'no bearer token' },
        `${authorization ? 'a Basic header' : 'no header'}: the body says missing_token`,
      );
      t.equal(
        res.headers['www-authenticate'],
        'Bearer',
        `${authorization ? 'a Basic header' : 'no header'}: the challenge is a bare Bearer`,
      );
    }
  });

  t.test('a bad token: 401 invalid_token with error="invalid_token"', async (t) => {
    for (const authorization of [
      'Bearer',
      `Bearer ${token} extra`,
      'Bearer not.a.jwt',
      `Bearer ${await issuer.token(key, { iss: 'https://evil.example' })}`,
    ]) {
      const res = await get(authorization);
      t.equal(res.statusCode, 401, authorization.slice(0, 20));
      t.equal(res.json().code, 'invalid_token', `${authorization.slice(0, 20)}: the refusal is invalid_token`);
      t.match(
        String(res.headers['www-authenticate']),
        /^Bearer error="invalid_token"/,
        `${authorization.slice(0, 20)}: the challenge says error="invalid_token"`,
      );
    }
  });

  t.test('introspected routes: 200, 401 token_revoked, 503 introspection_unavailable', async (t) => {
    const pay = () => app.inject({ method: 'POST', url: '/pay', headers: { authorization: `Bearer ${token}` } });
    issuer.introspection = { status: 200, body: '{"active":true}' };
    t.same((await pay()).json(), { paid: USER }, 'an active token pays as its subject');
    issuer.introspection = { status: 200, body: '{"active":false}' };
    let res = await pay();
    t.equal(res.statusCode, 401, 'a revoked token is refused with 401 on the introspected route');
    t.equal(res.json().code, 'token_revoked', 'the refusal says token_revoked');
    t.match(
      String(res.headers['www-authenticate']),
      /^Bearer error="invalid_token"/,
      'the revoked token gets an invalid_token challenge',
    );
    t.equal((await get(`Bearer ${token}`)).statusCode, 200, 'the plain route still accepts it until it expires');
    issuer.introspection = 'hang';
    res = await pay();
    t.equal(res.statusCode, 503, 'an introspection endpoint that hangs gives 503');
    t.equal(res.json().code, 'introspection_unavailable', 'the 503 says introspection_unavailable');
    t.notOk(res.headers['www-authenticate'], 'not a credentials problem');
  });

  t.test('keys out of reach: 503 jwks_unavailable', async (t) => {
    const down = Fastify();
    t.teardown(() => down.close());
    await down.register(tesseraAuth, {
      issuer: issuer.url,
      audience: 'orders-api',
      jwksUrl: `http://127.0.0.1:${await deadPort()}/jwks.json`,
    });
    down.get('/me', { preHandler: down.requireAuth() }, async () => 'ok');
    const res = await down.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } });
    t.equal(res.statusCode, 503, 'a JWKS out of reach gives 503, not 401');
    t.same(
      res.json(),
      { code: 'jwks_unavailable', message: new TesseraVerifyError('jwks_unavailable').message },
      'the 503 body says jwks_unavailable with its message',
    );
  });

  t.test('misconfiguration fails at boot', async (t) => {
    const bad = Fastify();
    t.teardown(() => bad.close());
    await t.rejects(
      async () => {
        await bad.register(tesseraAuth, {
          issuer: issuer.url,
          audience: 'orders-api',
          algorithms: ['none' as TesseraAlgorithm],
        });
      },
      TypeError,
      'registering the plugin with alg none fails at boot with a TypeError',
    );
    const noIntrospection = Fastify();
    t.teardown(() => noIntrospection.close());
    await noIntrospection.register(tesseraAuth, { issuer: issuer.url, audience: 'orders-api' });
    t.throws(
      () => noIntrospection.requireAuth({ introspect: true }),
      TypeError,
      'requireAuth({ introspect: true }) without introspection configured throws a TypeError',
    );
  });
});

t.test('with a real Tessera token, through the example resource service (in process)', async (t) => {
  const { buildResourceService } = await import('../../examples/resource-service/app.js');
  const { app: tessera, config } = await buildTestApp(t);
  const address = await tessera.listen({ port: 0, host: '127.0.0.1' });
  const issuer = await fakeIssuer(t); // plays only the introspection endpoint here
  const service = await buildResourceService({
    issuer: config.issuer,
    audience: 'tessera',
    jwksUrl: `${address}/.well-known/jwks.json`,
    introspection: { url: `${issuer.url}/oauth/introspect`, clientId: 'example', clientSecret: 'secret' },
  });
  t.teardown(() => service.close());
  const s = await session(tessera);
  const call = (method: 'GET' | 'POST', url: string, token?: string) =>
    service.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {} });

  t.same((await call('GET', '/health')).json(), { status: 'ok' }, "the example service's health check answers ok");
  const notes = await call('GET', '/notes', s.accessToken);
  t.equal(notes.statusCode, 200, 'a Tessera access token is let into /notes');
  t.equal(notes.json().user, s.user.id, "/notes answers for the token's user");
  t.ok(notes.json().notes.length > 0, 'the user gets their notes');
  t.equal(
    (await call('GET', '/notes')).json().code,
    'missing_token',
    '/notes without a token is refused as missing_token',
  );
  t.same(
    (await call('POST', '/transfers', s.accessToken)).json(),
    { ok: true, user: s.user.id },
    'an active token may make a transfer',
  );
  issuer.introspection = { status: 200, body: '{"active":false}' };
  t.equal(
    (await call('POST', '/transfers', s.accessToken)).json().code,
    'token_revoked',
    'a transfer with a revoked token is refused as token_revoked',
  );
  t.equal(
    (await call('GET', '/notes', s.accessToken)).statusCode,
    200,
    'the revoked token still reads /notes, which does not introspect',
  );
});
