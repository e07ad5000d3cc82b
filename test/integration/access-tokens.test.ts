// Access tokens as another service sees them: verified with jose against the served JWKS alone,
// and the forgeries /auth/me must refuse.
import t from 'tap';
import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, decodeProtectedHeader, decodeJwt, exportSPKI, jwtVerify, importJWK } from 'jose';
import { buildTestApp, me, session } from '../helper.js';

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

t.test('a resource server verifies the token with the JWKS alone', async (t) => {
  const { app, config } = await buildTestApp(t, { env: { AUDIENCE: 'orders-api,billing-api' } });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const s = await session(app);

  const header = decodeProtectedHeader(s.accessToken);
  t.same(
    header,
    { alg: 'RS256', typ: 'at+jwt', kid: app.services.keys.signing.kid },
    'the token header names RS256, the at+jwt type and the active key',
  );

  const jwks = createRemoteJWKSet(new URL(`${address}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(s.accessToken, jwks, {
    algorithms: ['RS256'],
    issuer: config.issuer,
    audience: 'orders-api',
    typ: 'at+jwt',
  });
  t.equal(protectedHeader.alg, 'RS256', 'the resource server verified an RS256 signature');
  t.equal(payload.sub, s.user.id, "the token's subject is the user");
  t.equal(payload.iss, 'http://localhost:3000', "the token's issuer is the configured issuer");
  t.same(payload.aud, ['orders-api', 'billing-api'], 'the token is for every configured audience');
  t.equal(payload.client_id, 'tessera', 'the token names the tessera client');
  t.type(payload.sid, 'string', 'the token carries its session id');
  t.type(payload.jti, 'string', 'the token carries a unique id');
  t.type(payload.auth_time, 'number', 'the token carries the login time');
  t.same(payload.amr, ['pwd'], 'RFC 8176: a password login');
  t.equal(payload.exp! - payload.iat!, 900, '15 minutes');
  t.same(
    Object.keys(payload).sort(),
    ['acr', 'amr', 'aud', 'auth_time', 'client_id', 'email_verified', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub'],
    'nothing secret, nothing more',
  );

  await t.rejects(
    jwtVerify(s.accessToken, jwks, { algorithms: ['RS256'], issuer: config.issuer, audience: 'other-api' }),
    { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
    'a verifier with another audience refuses it',
  );
  await t.rejects(
    jwtVerify(s.accessToken, jwks, { algorithms: ['RS256'], issuer: 'https://evil.example', audience: 'orders-api' }),
    { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
    'a verifier expecting another issuer refuses it',
  );
});

t.test('/auth/me refuses forged and stale tokens', async (t) => {
  const { app, clock, config } = await buildTestApp(t);
  const s = await session(app);
  const good = await me(app, s.accessToken);
  t.equal(good.statusCode, 200, 'a fresh access token opens /auth/me');
  t.same(
    good.json(),
    { id: s.user.id, email: s.email, created_at: s.user.created_at, email_verified: false },
    "/auth/me answers the user's public fields",
  );

  const [h, p, sig] = s.accessToken.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const payload = decodeJwt(s.accessToken);
  const publicPem = await exportSPKI(app.services.keys.signing.publicKey);
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });

  const forge = (hdr: object, body: object, signature = sig) => `${b64url(hdr)}.${b64url(body)}.${signature}`;
  const hs256 = (hdr: object, body: object, secret: string) => {
    const input = `${b64url(hdr)}.${b64url(body)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  const signWith = (key: Parameters<SignJWT['sign']>[0], hdr: Record<string, unknown>, body: Record<string, unknown>) =>
    new SignJWT(body).setProtectedHeader({ alg: 'RS256', ...hdr }).sign(key);

  const cases: [string, string][] = [
    ['alg none', `${b64url({ alg: 'none', typ: 'at+jwt' })}.${p}.`],
    ['alg none with the original signature', forge({ ...header, alg: 'none' }, payload)],
    ['HS256 signed with the RSA public key', hs256({ ...header, alg: 'HS256' }, payload, publicPem)],
    ['tampered payload (other sub)', forge(header, { ...payload, sub: '00000000-0000-4000-8000-000000000000' })],
    ['tampered payload (longer exp)', forge(header, { ...payload, exp: payload.exp! + 3600 })],
    ['signature stripped', `${h}.${p}.`],
    ['signed by another key under our kid', await signWith(attacker.privateKey, header, payload)],
    ['unknown kid', await signWith(attacker.privateKey, { ...header, kid: 'nope' }, payload)],
    ['kid path traversal', await signWith(attacker.privateKey, { ...header, kid: '../../etc/passwd' }, payload)],
    [
      'embedded jwk header (must be ignored)',
      await signWith(
        attacker.privateKey,
        { ...header, kid: undefined, jwk: attacker.publicKey.export({ format: 'jwk' }) },
        payload,
      ),
    ],
    [
      'jku header (must be ignored)',
      await signWith(attacker.privateKey, { ...header, jku: 'http://127.0.0.1:1/jwks.json' }, payload),
    ],
    ['typ not at+jwt', await signWith(app.services.keys.signing.privateKey, { ...header, typ: 'JWT' }, payload)],
    [
      'wrong issuer',
      await signWith(app.services.keys.signing.privateKey, header, { ...payload, iss: 'https://evil.example' }),
    ],
    [
      'wrong audience',
      await signWith(app.services.keys.signing.privateKey, header, { ...payload, aud: 'someone-else' }),
    ],
    ['no sid', await signWith(app.services.keys.signing.privateKey, header, { ...payload, sid: undefined })],
    [
      'sid not a UUID (even signed by us)',
      await signWith(app.services.keys.signing.privateKey, header, { ...payload, sid: "x' OR 1=1" }),
    ],
    [
      'sub not a UUID (even signed by us)',
      await signWith(app.services.keys.signing.privateKey, header, { ...payload, sub: 'admin' }),
    ],
    ['not a JWT', 'hello'],
    ['huge token', `${h}.${'A'.repeat(9000)}.${sig}`],
  ];
  for (const [name, token] of cases) {
    const res = await me(app, token);
    t.equal(res.statusCode, 401, name);
    t.equal(res.json().code, 'invalid_token', name);
    t.match(String(res.headers['www-authenticate']), /^Bearer realm="tessera", error="invalid_token"/, name);
  }

  t.test('missing or malformed Authorization', async (t) => {
    const none = await app.inject({ method: 'GET', url: '/auth/me' });
    t.equal(none.statusCode, 401, 'no Authorization header is refused with 401');
    t.equal(none.json().code, 'missing_token', 'no Authorization header is refused as missing_token');
    t.equal(
      none.headers['www-authenticate'],
      'Bearer realm="tessera"',
      'RFC 6750 §3.1: no error attribute without credentials',
    );
    for (const authorization of [`Basic ${s.accessToken}`, 'Bearer', `Bearer ${s.accessToken} extra`]) {
      const res = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization } });
      t.equal(res.statusCode, 401, authorization.slice(0, 12));
      t.equal(res.json().code, 'invalid_token', `${authorization.slice(0, 12)}: refused as invalid_token`);
    }
    const lower = await app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `bearer ${s.accessToken}` },
    });
    t.equal(lower.statusCode, 200, 'the scheme is case-insensitive');
  });

  t.test('a token expires after ACCESS_TOKEN_TTL_SECONDS (controlled clock)', async (t) => {
    clock.advance(config.accessTokenTtl - 1);
    t.equal(
      (await me(app, s.accessToken)).statusCode,
      200,
      'the token still opens /auth/me a second before it expires',
    );
    clock.advance(1);
    const res = await me(app, s.accessToken);
    t.equal(res.statusCode, 401, 'the expired token is refused with 401');
    t.equal(res.json().code, 'invalid_token', 'the expired token is refused as invalid_token');
  });
});

t.test('the JWKS never carries a private member and verifies our tokens', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  t.equal(res.statusCode, 200, 'the JWKS is served');
  const { keys } = res.json();
  t.equal(keys.length, 2, 'the active key and the next one');
  t.equal(keys[0].kid, app.services.keys.signing.kid, 'the active key comes first');
  const [jwk] = keys;
  for (const k of keys)
    t.same(
      Object.keys(k).sort(),
      ['alg', 'e', 'kid', 'kty', 'n', 'use'],
      `${k.kid}: the key holds only public RSA members`,
    );
  t.equal(jwk.kty, 'RSA', 'the key is RSA');
  t.equal(jwk.alg, 'RS256', 'the key is for RS256');
  t.equal(jwk.use, 'sig', 'the key is for signatures');
  for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
    t.notOk(priv in jwk, `the served key has no private member ${priv}`);
  const key = await importJWK(jwk, 'RS256');
  const s = await session(app);
  await t.resolves(
    jwtVerify(s.accessToken, key, { algorithms: ['RS256'] }),
    'the served key verifies our access token',
  );
  t.equal(
    createPublicKey({ key: jwk, format: 'jwk' }).asymmetricKeyDetails?.modulusLength,
    2048,
    'the signing key is 2048-bit RSA',
  );
});
