// The attack corpus: every attack on Tessera's HTTP surface in one file, each with the exact status and
// error code it must get. Other test files cover the same ground feature by feature; this one is the list
// to read (and extend) when asking "what happens if someone sends X?".
//
// 1. access tokens presented to GET /auth/me
// 2. refresh cookies presented to POST /auth/refresh
// 3. hostile bodies sent to POST /auth/register and POST /auth/login
import t, { type Test } from 'tap';
import { createHash, createHmac, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SignJWT, decodeJwt, exportJWK, exportSPKI, generateKeyPair, importPKCS8, type JWTPayload } from 'jose';
import { errorCatalog, type ErrorCode } from '../../src/errors.js';
import { retire } from '../../src/domain/keys/key-rotation.js';
import { hashClientSecret } from '../../src/domain/tokens/service-clients.js';
import { createVerifier } from '@tessera/verify';
import {
  ManualClock,
  PASSWORD,
  buildTestApp,
  login,
  me,
  refresh,
  refreshCookieOf,
  register,
  session,
  tempDir,
  uniqueEmail,
  type TestApp,
  type TestDatabase,
  REFRESH_COOKIE,
} from '../helper.js';

type Reply = Awaited<ReturnType<TestApp['inject']>>;
type Expect = readonly [status: number, code: ErrorCode];

function bodyOf(res: Reply): Record<string, unknown> {
  try {
    return res.json();
  } catch {
    return { unparsable: res.body.slice(0, 200) };
  }
}

/** The exact status and catalog code, in the catalog's body shape (and nothing more: no stack, no detail). */
function assertRefused(t: Test, res: Reply, [status, code]: Expect, name: string): void {
  // Guards the tables themselves: a status that disagrees with the catalog is a typo in this file.
  t.equal(errorCatalog[code].status, status, `${name}: ${status} is the catalog's status for ${code}`);
  t.equal(res.statusCode, status, `${name}: status ${status}`);
  const body = bodyOf(res);
  t.equal(body.code, code, `${name}: code ${code}`);
  t.same(Object.keys(body).sort(), ['code', 'message', 'request_id', 'status_code'], `${name}: error body shape`);
}

/** 200/201 or a 4xx whose code is in the catalog with that status: never a 5xx, never an unknown code. */
function assertCatalogAnswer(t: Test, res: Reply, name: string): void {
  t.ok(res.statusCode < 500, `${name}: not a 5xx (${res.statusCode})`);
  if (res.statusCode < 400) return;
  const code = bodyOf(res).code;
  t.ok(typeof code === 'string' && code in errorCatalog, `${name}: ${String(code)} is a catalog code`);
  if (typeof code === 'string' && code in errorCatalog)
    t.equal(errorCatalog[code as ErrorCode].status, res.statusCode, `${name}: catalog status`);
}

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const bearer = (token: string) => `Bearer ${token}`;
const meWith = (app: TestApp, authorization: string) =>
  app.inject({ method: 'GET', url: '/auth/me', headers: { authorization } });

/** An attacker-controlled HTTP server that serves `body` at any path and counts how often it is asked. */
async function attackerServer(t: Test, body: unknown) {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

async function sessionRow(db: TestDatabase, userId: string) {
  return db.database.prisma.session.findFirstOrThrow({ where: { userId }, orderBy: { createdAt: 'desc' } });
}

// ---------------------------------------------------------------------------------------------------
// 1. Access tokens presented to GET /auth/me
// ---------------------------------------------------------------------------------------------------

const INVALID_TOKEN: Expect = [401, 'invalid_token'];

function assertTokenRefused(t: Test, res: Reply, name: string): void {
  assertRefused(t, res, INVALID_TOKEN, name);
  t.match(
    String(res.headers['www-authenticate']),
    /^Bearer realm="tessera", error="invalid_token"/,
    `${name}: WWW-Authenticate`,
  );
}

t.test('1. access tokens presented to GET /auth/me', async (t) => {
  t.test('forgeries and tampering: each token is valid except for the one thing its name says', async (t) => {
    const { app, clock, config, keysDir } = await buildTestApp(t, { clock: new ManualClock(new Date()) });
    const victim = await session(app);
    const other = await session(app);
    const victimSid = decodeJwt(victim.accessToken).sid;
    const otherSid = decodeJwt(other.accessToken).sid;

    // Our own signing key, read from the app's KEYS_DIR as an operator (or a thief) would find it.
    const ourKid = app.services.keys.signing.kid;
    const ourPem = await readFile(path.join(keysDir, `${ourKid}.pem`), 'utf8');
    const ourKey = await importPKCS8(ourPem, 'RS256');
    const ourKeyAsPs256 = await importPKCS8(ourPem, 'PS256');
    const publicPem = await exportSPKI(createPublicKey(ourPem));
    const publicDer = createPublicKey(ourPem).export({ format: 'der', type: 'spki' });

    const attacker = await generateKeyPair('RS256', { extractable: true });
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'attacker-key', alg: 'RS256', use: 'sig' };
    const evil = await attackerServer(t, { keys: [attackerJwk] });

    const now = Math.floor(clock.now().getTime() / 1000);
    const validClaims = (): JWTPayload => ({
      iss: config.issuer,
      aud: config.audience.length === 1 ? config.audience[0] : config.audience,
      sub: victim.user.id,
      sid: victimSid,
      jti: randomUUID(),
      iat: now,
      exp: now + config.accessTokenTtl,
      client_id: config.clientId,
      auth_time: now,
    });
    const validHeader = { alg: 'RS256', typ: 'at+jwt', kid: ourKid };
    /** Signs validClaims() under validHeader with our key; each override changes exactly one thing. */
    const forge = (o: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: CryptoKey } = {}) =>
      new SignJWT({ ...validClaims(), ...o.claims })
        .setProtectedHeader({ ...validHeader, ...o.header } as typeof validHeader)
        .sign(o.key ?? ourKey);
    const hs256 = (secret: string | Buffer) => {
      const input = `${b64url({ ...validHeader, alg: 'HS256' })}.${b64url(validClaims())}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };

    // Positive control: the forging recipe itself yields a token we accept, so each case below fails
    // for the reason in its name and not because the recipe is wrong.
    const valid = await forge();
    const control = await me(app, valid);
    t.equal(control.statusCode, 200, 'positive control: a token forged with our key and nothing changed is accepted');
    t.equal(bodyOf(control).id, victim.user.id, "positive control: the forged token is the victim's");

    const [vh, vp, vs] = valid.split('.') as [string, string, string];
    const huge = await forge({ claims: { pad: 'x'.repeat(9000) } });
    t.ok(huge.length > 8192, 'the huge token is over 8 KB');

    const cases: [name: string, authorization: string][] = [
      ['alg none, unsigned', bearer(`${b64url({ ...validHeader, alg: 'none' })}.${b64url(validClaims())}.`)],
      ['alg none, keeping a valid signature', bearer(`${b64url({ ...validHeader, alg: 'none' })}.${vp}.${vs}`)],
      ['HS256 with our RSA public key (PEM) as the HMAC secret', bearer(hs256(publicPem))],
      ['HS256 with our RSA public key (SPKI DER bytes) as the HMAC secret', bearer(hs256(publicDer))],
      [
        'PS256 signed with our own key (the algorithm is pinned to RS256)',
        bearer(await forge({ header: { alg: 'PS256' }, key: ourKeyAsPs256 })),
      ],
      ['unknown kid', bearer(await forge({ header: { kid: 'no-such-key' } }))],
      ['no kid', bearer(await forge({ header: { kid: undefined } }))],
      ['kid with path traversal', bearer(await forge({ header: { kid: '../../etc/passwd' } }))],
      ['kid with SQL', bearer(await forge({ header: { kid: "' OR 1=1 --" } }))],
      [
        'jku to an attacker JWKS, signed by the attacker key',
        bearer(
          await forge({ key: attacker.privateKey, header: { kid: 'attacker-key', jku: `${evil.url}/jwks.json` } }),
        ),
      ],
      [
        'jku to an attacker JWKS, under our kid',
        bearer(await forge({ key: attacker.privateKey, header: { jku: `${evil.url}/jwks.json` } })),
      ],
      [
        'x5u to an attacker URL, signed by the attacker key',
        bearer(await forge({ key: attacker.privateKey, header: { kid: 'attacker-key', x5u: `${evil.url}/cert.pem` } })),
      ],
      [
        'jwk header embedding the attacker public key',
        bearer(await forge({ key: attacker.privateKey, header: { kid: undefined, jwk: attackerJwk } })),
      ],
      [
        'jwk header embedding the attacker public key, under our kid',
        bearer(await forge({ key: attacker.privateKey, header: { jwk: attackerJwk } })),
      ],
      ['signed by the attacker key under our kid', bearer(await forge({ key: attacker.privateKey }))],
      [
        'tampered payload: another user as sub, signature kept',
        bearer(`${vh}.${b64url({ ...decodeJwt(valid), sub: other.user.id, sid: otherSid })}.${vs}`),
      ],
      [
        'tampered payload: later exp, signature kept',
        bearer(`${vh}.${b64url({ ...decodeJwt(valid), exp: now + 86400 })}.${vs}`),
      ],
      ['signature stripped (header.payload.)', bearer(`${vh}.${vp}.`)],
      ['nbf an hour in the future', bearer(await forge({ claims: { nbf: now + 3600 } }))],
      ['already expired (exp in the past)', bearer(await forge({ claims: { iat: now - 2000, exp: now - 1 } }))],
      ['wrong iss', bearer(await forge({ claims: { iss: 'https://evil.example' } }))],
      ['wrong aud', bearer(await forge({ claims: { aud: 'someone-else' } }))],
      ['typ JWT instead of at+jwt', bearer(await forge({ header: { typ: 'JWT' } }))],
      ['no typ', bearer(await forge({ header: { typ: undefined } }))],
      ['no sid claim', bearer(await forge({ claims: { sid: undefined } }))],
      ['sid of a session that does not exist', bearer(await forge({ claims: { sid: randomUUID() } }))],
      ["sid of another user's session", bearer(await forge({ claims: { sid: otherSid } }))],
      ['token over 8 KB (otherwise valid)', bearer(huge)],
      ['not a JWT at all', bearer('hello')],
      ['empty bearer', 'Bearer '],
      ['two tokens', `Bearer ${valid} ${valid}`],
      ['Basic scheme with a valid token', `Basic ${valid}`],
    ];
    for (const [name, authorization] of cases) assertTokenRefused(t, await meWith(app, authorization), name);
    t.equal(evil.hits(), 0, 'the attacker server was never contacted (jku / x5u not followed)');
    t.equal((await me(app, valid)).statusCode, 200, 'and the valid token still works after the barrage');

    const missing = await app.inject({ method: 'GET', url: '/auth/me' });
    assertRefused(t, missing, [401, 'missing_token'], 'no Authorization header at all');
    t.match(String(missing.headers['www-authenticate']), /^Bearer /, 'the refusal names the Bearer scheme');
  });

  t.test('expired: ACCESS_TOKEN_TTL_SECONDS after issue (controlled clock)', async (t) => {
    const { app, clock, config } = await buildTestApp(t, { clock: new ManualClock(new Date()) });
    const s = await session(app);
    clock.advance(config.accessTokenTtl - 1);
    t.equal((await me(app, s.accessToken)).statusCode, 200, 'one second before expiry: accepted');
    clock.advance(2);
    assertTokenRefused(t, await me(app, s.accessToken), 'one second after expiry');
  });

  t.test('signed by a key that is no longer in the key store', async (t) => {
    const clock = new ManualClock(new Date());
    const first = await buildTestApp(t, { clock }); // KEYS_DIR A
    const s = await session(first.app);
    // Same database, fresh KEYS_DIR B: the session and user exist, only the key is unknown.
    const second = await buildTestApp(t, { clock, db: first.db, keysDir: await tempDir(t, 'tessera-keys-b-') });
    t.not(
      second.app.services.keys.signing.kid,
      first.app.services.keys.signing.kid,
      'the second key store signs with a different key',
    );
    t.equal((await me(first.app, s.accessToken)).statusCode, 200, 'the token works where its key is');
    assertTokenRefused(t, await me(second.app, s.accessToken), 'token signed with a key not in this store');
    const fresh = await login(second.app, s.email);
    t.equal(
      (await me(second.app, fresh.accessToken)).statusCode,
      200,
      'positive control: the same user with a token from the new key',
    );
  });

  t.test('signed by a retired key: old tokens live out their time, newly minted ones are refused', async (t) => {
    const clock = new ManualClock(new Date());
    const { app, keysDir, config } = await buildTestApp(t, { clock });
    const s = await session(app);
    const retiredKid = app.services.keys.signing.kid;
    const leaked = await importPKCS8(await readFile(path.join(keysDir, `${retiredKid}.pem`), 'utf8'), 'RS256');
    // A token "issued" now with the key: what a thief holding the key file would mint.
    const mint = () => {
      const now = Math.floor(clock.now().getTime() / 1000);
      return new SignJWT({
        client_id: config.clientId,
        sid: decodeJwt(s.accessToken).sid,
        auth_time: now,
        jti: randomUUID(),
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: retiredKid })
        .setIssuer(config.issuer)
        .setAudience(config.audience[0]!)
        .setSubject(s.user.id)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(leaked);
    };
    t.equal(
      (await me(app, await mint())).statusCode,
      200,
      'positive control: while the key is active, the recipe is accepted',
    );

    await retire(keysDir, retiredKid, clock.now(), {
      leadSeconds: 330,
      reloadSeconds: 30,
      rotationDays: 0,
      alg: 'RS256',
      accessTokenTtlSeconds: 900,
    });
    await app.reloadKeys();
    clock.advance(30 + 60 + 1); // past any instance's last possible use of it
    t.equal((await me(app, s.accessToken)).statusCode, 200, 'a token it signed before retirement still verifies');
    assertTokenRefused(t, await me(app, await mint()), 'a token dated after the retirement');
    clock.advance(900);
    assertTokenRefused(t, await me(app, await mint()), 'once unpublished, nothing it signs verifies');
  });

  t.test(
    'a leaked key mints nothing long-lived or backdated: /auth/me, introspection and @tessera/verify agree',
    async (t) => {
      // Real time for @tessera/verify, so the service's clock starts 100 s behind it and catches up.
      const clock = new ManualClock(new Date(Date.now() - 100_000));
      const secret = randomBytes(32).toString('base64url');
      const { app, keysDir, config } = await buildTestApp(t, {
        clock,
        env: { SERVICE_CLIENTS: `orders:${hashClientSecret(secret)}` },
      });
      const s = await session(app);
      const sid = decodeJwt(s.accessToken).sid;
      const leakedKid = app.services.keys.signing.kid;
      const leaked = await importPKCS8(await readFile(path.join(keysDir, `${leakedKid}.pem`), 'utf8'), 'RS256');
      const nowS = () => Math.floor(clock.now().getTime() / 1000);
      const mint = (kid: string, key: CryptoKey, iat: number, exp: number) =>
        new SignJWT({ client_id: config.clientId, sid, auth_time: iat, jti: randomUUID() })
          .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
          .setIssuer(config.issuer)
          .setAudience(config.audience[0]!)
          .setSubject(s.user.id)
          .setIssuedAt(iat)
          .setExpirationTime(exp)
          .sign(key);
      const ttl = config.accessTokenTtl;

      await app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const verifierNow = () =>
        createVerifier({
          issuer: config.issuer,
          audience: config.audience[0]!,
          jwksUrl: `${base}/.well-known/jwks.json`,
        });
      const introspected = async (token: string) =>
        (
          await app.inject({
            method: 'POST',
            url: '/oauth/introspect',
            headers: {
              authorization: `Basic ${Buffer.from(`orders:${secret}`).toString('base64')}`,
              'content-type': 'application/x-www-form-urlencoded',
            },
            payload: new URLSearchParams({ token }).toString(),
          })
        ).json().active as boolean;
      /** Each of the three judges, for one token. */
      const judge = async (token: string) => ({
        me: (await me(app, token)).statusCode,
        introspection: await introspected(token),
        verify: await verifierNow()
          .verify(token)
          .then(
            () => 'ok',
            (e: unknown) => (e as { code?: string }).code,
          ),
      });
      const ACCEPTED = { me: 200, introspection: true, verify: 'ok' };
      const REFUSED = { me: 401, introspection: false, verify: 'invalid_token' };

      // While the key is active.
      t.same(
        await judge(await mint(leakedKid, leaked, nowS(), nowS() + ttl)),
        ACCEPTED,
        'positive control: active key, lifetime = TTL',
      );
      t.same(
        await judge(await mint(leakedKid, leaked, nowS(), nowS() + ttl + 60)),
        ACCEPTED,
        'positive control: active key, lifetime = TTL + 60 s of skew',
      );
      t.same(
        await judge(await mint(leakedKid, leaked, nowS(), nowS() + ttl + 61)),
        REFUSED,
        'active key, lifetime TTL + 61 s',
      );
      t.same(await judge(await mint(leakedKid, leaked, nowS(), nowS() + 86400)), REFUSED, 'active key, exp 24 h ahead');
      t.same(
        await judge(await mint(leakedKid, leaked, nowS() - 600, nowS() + 86400)),
        REFUSED,
        'active key, backdated 10 min, exp 24 h ahead',
      );
      t.same(
        await judge(await mint(leakedKid, leaked, nowS() + 3600, nowS() + 3600 + ttl)),
        REFUSED,
        'active key, pre-minted for an hour from now',
      );

      // Retired: the leak is noticed and the key stops signing.
      const retiredAt = nowS();
      const beforeRetirement = await mint(leakedKid, leaked, retiredAt - 1, retiredAt - 1 + ttl);
      await retire(keysDir, leakedKid, clock.now(), {
        leadSeconds: 330,
        reloadSeconds: 30,
        rotationDays: 0,
        alg: 'RS256',
        accessTokenTtlSeconds: ttl,
      });
      await app.reloadKeys();
      clock.advance(30 + 60 + 1); // past any instance's last possible use of it
      const signedUntil = retiredAt + config.keysReloadSeconds + 60;
      t.equal(
        (
          (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] }
        ).keys.find((k) => k.kid === leakedKid)?.tessera_signed_until,
        signedUntil,
        'the JWKS says until when the retired key signed',
      );

      t.same(
        await judge(beforeRetirement),
        ACCEPTED,
        'positive control: a token it signed before retirement, lifetime = TTL',
      );
      t.same(
        await judge(await mint(leakedKid, leaked, retiredAt - 1, retiredAt - 1 + 86400)),
        REFUSED,
        'backdated to just before retirement, exp 24 h ahead',
      );
      t.same(
        await judge(await mint(leakedKid, leaked, retiredAt - 1, signedUntil + ttl + 61)),
        REFUSED,
        'backdated, exp past the publication tail (and a lifetime over TTL)',
      );
      t.same(
        await judge(await mint(leakedKid, leaked, nowS(), nowS() + ttl)),
        REFUSED,
        'dated now, after the retirement',
      );
      const fresh = await login(app, s.email);
      t.same(await judge(fresh.accessToken), ACCEPTED, 'positive control: a token from the key that took over');
    },
  );

  t.test('a token whose session was ended', async (t) => {
    const { app } = await buildTestApp(t);
    const a = await session(app);
    const aSecond = await login(app, a.email);
    const out = await app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: { authorization: bearer(a.accessToken) },
    });
    t.equal(out.statusCode, 204, 'logout-all answers 204');
    assertTokenRefused(t, await me(app, a.accessToken), 'after logout-all: the token that asked for it');
    assertTokenRefused(t, await me(app, aSecond.accessToken), "after logout-all: the user's other session");

    const b = await session(app);
    const logout = await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [REFRESH_COOKIE]: b.refresh } });
    t.equal(logout.statusCode, 204, 'logout answers 204');
    assertTokenRefused(t, await me(app, b.accessToken), 'after logout');
  });
});

// ---------------------------------------------------------------------------------------------------
// 2. Refresh cookies presented to POST /auth/refresh
// ---------------------------------------------------------------------------------------------------

/** What a refresh may answer when several requests race for one token. */
const RACE_CODES = new Set<string>(['refresh_token_reused', 'session_revoked']);

t.test('2. refresh cookies presented to POST /auth/refresh', async (t) => {
  t.test('missing, empty, malformed or never issued', async (t) => {
    const { app } = await buildTestApp(t);
    const s = await session(app);
    const cases: [name: string, cookie: string | undefined, expect: Expect][] = [
      ['no cookie', undefined, [401, 'refresh_token_missing']],
      ['empty value', '', [401, 'refresh_token_missing']],
      ['garbage', 'garbage', [401, 'refresh_token_invalid']],
      ['43 base64url characters never issued', randomBytes(32).toString('base64url'), [401, 'refresh_token_invalid']],
      ['a real token with one character more', `${s.refresh}A`, [401, 'refresh_token_invalid']],
      [
        '82 base64url characters never issued (the v2 length)',
        randomBytes(61).toString('base64url'),
        [401, 'refresh_token_invalid'],
      ],
      [
        'a real token with its MAC altered',
        (() => {
          const b = Buffer.from(s.refresh, 'base64url');
          b[40]! ^= 0xff;
          return b.toString('base64url');
        })(),
        [401, 'refresh_token_invalid'],
      ],
      [
        'a real token naming the next counter (MAC unchanged)',
        (() => {
          const b = Buffer.from(s.refresh, 'base64url');
          b.writeBigUInt64BE(1n, 21);
          return b.toString('base64url');
        })(),
        [401, 'refresh_token_invalid'],
      ],
      [
        'the SHA-256 stored in the database instead of the token',
        createHash('sha256').update(s.refresh).digest('hex'),
        [401, 'refresh_token_invalid'],
      ],
      ['an access token in the refresh cookie', s.accessToken, [401, 'refresh_token_invalid']],
      ['SQL in the cookie', "' OR 1=1 --", [401, 'refresh_token_invalid']],
      ['4 KB of junk', 'A'.repeat(4000), [401, 'refresh_token_invalid']],
    ];
    for (const [name, cookie, expect] of cases) assertRefused(t, await refresh(app, cookie), expect, name);
    t.equal((await refresh(app, s.refresh)).statusCode, 200, 'the real token still rotates after the probing');
  });

  const graceVariants: { name: string; env: Record<string, string>; wait: number }[] = [
    { name: 'grace off (REFRESH_REUSE_GRACE_SECONDS=0)', env: { REFRESH_REUSE_GRACE_SECONDS: '0' }, wait: 0 },
    { name: 'default grace (10 s), clock moved past it', env: {}, wait: 11 },
  ];
  for (const variant of graceVariants) {
    t.test(`another user presents A's spent token: ${variant.name}`, async (t) => {
      const { app, clock, db } = await buildTestApp(t, { env: variant.env, clock: new ManualClock(new Date()) });
      const a = await session(app);
      const rotated = await refresh(app, a.refresh);
      t.equal(rotated.statusCode, 200, `${variant.name}: A's first refresh is accepted`);
      const aNext = refreshCookieOf(rotated)!;
      const aAccess = bodyOf(rotated).access_token as string;
      const b = await session(app);
      clock.advance(variant.wait);

      // Whoever sends it (here B, with B's own bearer token too), a spent token is reuse of A's family.
      const stolen = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        cookies: { [REFRESH_COOKIE]: a.refresh },
        headers: { authorization: bearer(b.accessToken) },
      });
      assertRefused(t, stolen, [401, 'refresh_token_reused'], "B presenting A's spent token");
      assertRefused(t, await refresh(app, aNext), [401, 'session_revoked'], "A's newest token afterwards");
      assertTokenRefused(t, await me(app, aAccess), "A's access token afterwards");
      t.equal(
        (await sessionRow(db, a.user.id)).revokedReason,
        'refresh_token_reused',
        "A's session is revoked in the database",
      );
      t.equal((await refresh(app, b.refresh)).statusCode, 200, "B's own session is untouched");
    });
  }

  t.test('a session ended by logout or logout-all', async (t) => {
    const { app } = await buildTestApp(t);
    const a = await session(app);
    t.equal(
      (await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [REFRESH_COOKIE]: a.refresh } })).statusCode,
      204,
      'logout answers 204',
    );
    assertRefused(t, await refresh(app, a.refresh), [401, 'session_revoked'], 'token of a logged-out session');

    const b = await session(app);
    const bOther = await login(app, b.email);
    t.equal(
      (await app.inject({ method: 'POST', url: '/auth/logout-all', headers: { authorization: bearer(b.accessToken) } }))
        .statusCode,
      204,
      'logout-all answers 204',
    );
    assertRefused(
      t,
      await refresh(app, b.refresh),
      [401, 'session_revoked'],
      'token after logout-all (the calling session)',
    );
    assertRefused(
      t,
      await refresh(app, bOther.refresh),
      [401, 'session_revoked'],
      "token after logout-all (the user's other session)",
    );
  });

  t.test('cookie sent cross-site', async (t) => {
    const { app } = await buildTestApp(t);
    const s = await session(app);
    const cases: [name: string, headers: Record<string, string>][] = [
      ['Origin of another site', { origin: 'https://evil.example' }],
      ['Origin: null (sandboxed frame)', { origin: 'null' }],
      ['Sec-Fetch-Site: cross-site without Origin', { 'sec-fetch-site': 'cross-site' }],
    ];
    for (const [name, headers] of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        cookies: { [REFRESH_COOKIE]: s.refresh },
        headers,
      });
      assertRefused(t, res, [403, 'csrf_rejected'], name);
    }
    t.equal((await refresh(app, s.refresh)).statusCode, 200, 'the refused requests spent nothing');
  });

  // Many requests racing for one token, as tabs (or a thief and the victim) might. Whatever the
  // interleaving: no 5xx, only catalog codes, and once the grace window is over at most one
  // successor can still be exchanged.
  // Grace 0: one racer wins; the first loser is reuse and revokes the family, winner's successor included.
  // Default grace: every racer inside the window gets the same successor, so only one token is ever live.
  const races = [
    { n: 2, grace: '0', winners: 1, usableAfterGrace: 0 },
    { n: 20, grace: '0', winners: 1, usableAfterGrace: 0 },
    { n: 2, grace: undefined, winners: 2, usableAfterGrace: 1 },
    { n: 20, grace: undefined, winners: 20, usableAfterGrace: 1 },
  ];
  for (const race of races) {
    const label = `${race.n} parallel refreshes of one token, grace ${race.grace ?? 'default (10 s)'}`;
    t.test(label, async (t) => {
      const env: Record<string, string> = race.grace === undefined ? {} : { REFRESH_REUSE_GRACE_SECONDS: race.grace };
      const { app, clock, config, db } = await buildTestApp(t, { env, clock: new ManualClock(new Date()) });
      const s = await session(app);
      const sessionId = (await sessionRow(db, s.user.id)).id;

      const results = await Promise.all(Array.from({ length: race.n }, () => refresh(app, s.refresh)));
      for (const [i, res] of results.entries()) {
        t.ok(res.statusCode === 200 || res.statusCode === 401, `response ${i}: 200 or 401 (${res.statusCode})`);
        if (res.statusCode !== 200) {
          assertCatalogAnswer(t, res, `response ${i}`);
          t.ok(
            RACE_CODES.has(String(bodyOf(res).code)),
            `response ${i}: ${String(bodyOf(res).code)} is a rotation refusal`,
          );
        }
      }
      const successors = results.filter((r) => r.statusCode === 200).map((r) => refreshCookieOf(r)!);
      t.equal(successors.length, race.winners, `${race.winners} of ${race.n} got a successor`);
      t.equal(new Set(successors).size, 1, 'one successor, whoever got it');

      // Past the grace window: exchange the first successor, then see what is left.
      clock.advance(config.refreshReuseGrace + 1);
      const [first, ...rest] = [...new Set(successors)];
      const used = await refresh(app, first!);
      t.equal(used.statusCode === 200 ? 1 : 0, race.usableAfterGrace, 'successor exchanged after the grace window');
      if (used.statusCode !== 200)
        assertRefused(t, used, [401, 'session_revoked'], 'the sole successor died with its family');
      const row = await sessionRow(db, s.user.id);
      t.equal(row.id, sessionId, 'the race left the same session in place');
      t.equal(
        row.revokedAt === null ? 1 : 0,
        race.usableAfterGrace,
        'the session lives on exactly when its one successor was usable',
      );
      t.equal(rest.length, 0, 'no sibling successor exists');
      for (const [i, other] of rest.entries()) {
        const res = await refresh(app, other);
        t.equal(res.statusCode, 401, `sibling successor ${i + 1} is dead`);
        assertCatalogAnswer(t, res, `sibling successor ${i + 1}`);
        t.ok(RACE_CODES.has(String(bodyOf(res).code)), `sibling successor ${i + 1}: ${String(bodyOf(res).code)}`);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// 3. Hostile bodies sent to POST /auth/register and POST /auth/login
// ---------------------------------------------------------------------------------------------------

interface InputCase {
  name: string;
  payload: string;
  /** Content-Type to send; null sends none. */
  contentType?: string | null;
  register: Expect;
  /** Defaults to the register expectation (parsing and the schema are the same for both routes). */
  login?: Expect;
}

const JSON_TYPE = 'application/json';
const creds = (email: unknown, password: unknown = PASSWORD) => JSON.stringify({ email, password });
const bad = (code: ErrorCode): Expect => [errorCatalog[code].status, code];

// Login answers one thing for every email/password it can't use, whether malformed or just wrong.
const LOGIN_REFUSED = bad('invalid_credentials');

function post(
  app: TestApp,
  route: 'register' | 'login',
  payload: string,
  contentType: string | null = JSON_TYPE,
  remoteAddress?: string,
) {
  return app.inject({
    method: 'POST',
    url: `/auth/${route}`,
    payload,
    headers: contentType === null ? {} : { 'content-type': contentType },
    ...(remoteAddress ? { remoteAddress } : {}),
  });
}

t.test('3. hostile bodies to POST /auth/register and /auth/login', async (t) => {
  const { app, db } = await buildTestApp(t);
  const victim = await register(app);
  const users = () => db.database.prisma.user.count();
  const sessions = () => db.database.prisma.session.count();

  t.test('refused: a 4xx catalog code each, and nothing written', async (t) => {
    const cases: InputCase[] = [
      // Not JSON, or JSON we won't parse.
      {
        name: 'malformed JSON (truncated)',
        payload: '{"email": "a@example.com", "password": ',
        register: bad('malformed_json'),
      },
      {
        name: 'malformed JSON (single quotes)',
        payload: "{'email': 'a@example.com', 'password': 'x'}",
        register: bad('malformed_json'),
      },
      {
        name: 'malformed JSON (trailing comma)',
        payload: '{"email": "a@example.com", "password": "12345678",}',
        register: bad('malformed_json'),
      },
      {
        name: 'Content-Type text/plain',
        payload: creds(uniqueEmail()),
        contentType: 'text/plain',
        register: bad('unsupported_media_type'),
      },
      {
        name: 'Content-Type form-urlencoded',
        payload: `email=${encodeURIComponent(uniqueEmail())}&password=${encodeURIComponent(PASSWORD)}`,
        contentType: 'application/x-www-form-urlencoded',
        register: bad('unsupported_media_type'),
      },
      {
        name: 'Content-Type multipart/form-data',
        payload: '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@example.com\r\n--x--',
        contentType: 'multipart/form-data; boundary=x',
        register: bad('unsupported_media_type'),
      },
      {
        name: 'no Content-Type',
        payload: creds(uniqueEmail()),
        contentType: null,
        register: bad('unsupported_media_type'),
      },
      { name: 'empty body with a JSON Content-Type', payload: '', register: bad('invalid_request') },
      // JSON of the wrong shape.
      { name: 'JSON null', payload: 'null', register: bad('invalid_request') },
      {
        name: 'JSON array at the top level',
        payload: JSON.stringify([{ email: uniqueEmail(), password: PASSWORD }]),
        register: bad('invalid_request'),
      },
      {
        name: 'JSON string at the top level',
        payload: JSON.stringify(uniqueEmail()),
        register: bad('invalid_request'),
      },
      // additionalProperties: false, and Ajv is told not to strip: unknown fields are refused, not ignored.
      {
        name: 'extra field (role: admin)',
        payload: JSON.stringify({ email: uniqueEmail(), password: PASSWORD, role: 'admin' }),
        register: bad('invalid_request'),
      },
      {
        name: 'extra field (id chosen by the client)',
        payload: JSON.stringify({ id: randomUUID(), email: uniqueEmail(), password: PASSWORD }),
        register: bad('invalid_request'),
      },
      { name: 'email is a number', payload: creds(42), register: bad('invalid_request') },
      {
        name: 'email is an object (operator injection)',
        payload: creds({ $ne: null }),
        register: bad('invalid_request'),
      },
      { name: 'password missing', payload: JSON.stringify({ email: uniqueEmail() }), register: bad('invalid_request') },
      {
        name: 'deeply nested arrays as the email (5000 levels)',
        payload: `{"email":${'['.repeat(5000)}${']'.repeat(5000)},"password":"${PASSWORD}"}`,
        register: bad('invalid_request'),
      },
      {
        name: 'deeply nested objects at the top level (2500 levels)',
        payload: `${'{"a":'.repeat(2500)}1${'}'.repeat(2500)}`,
        register: bad('invalid_request'),
      },
      // Prototype pollution: secure-json-parse refuses these outright.
      {
        name: '__proto__ key at the top level',
        payload: `{"__proto__": {"admin": true}, "email": "${uniqueEmail()}", "password": "${PASSWORD}"}`,
        register: bad('malformed_json'),
      },
      {
        name: '__proto__ key nested in a value',
        payload: `{"email": {"__proto__": {"admin": true}}, "password": "${PASSWORD}"}`,
        register: bad('malformed_json'),
      },
      {
        name: 'constructor.prototype keys',
        payload: `{"constructor": {"prototype": {"admin": true}}, "email": "${uniqueEmail()}", "password": "${PASSWORD}"}`,
        register: bad('malformed_json'),
      },
      // Size.
      { name: '1 MB body', payload: creds(uniqueEmail(), 'x'.repeat(1024 * 1024)), register: bad('payload_too_large') },
      {
        name: 'body just over 16 KiB',
        payload: creds(uniqueEmail(), 'x'.repeat(16 * 1024)),
        register: bad('payload_too_large'),
      },
      {
        name: 'email of 10 000 characters (over the schema bound)',
        payload: creds(`${'a'.repeat(9988)}@example.com`),
        register: bad('invalid_request'),
      },
      {
        name: 'password of 2000 characters (over the schema bound)',
        payload: creds(uniqueEmail(), 'x'.repeat(2000)),
        register: bad('invalid_request'),
      },
      // Emails the domain refuses (login: the same answer as a wrong password).
      {
        name: 'email of 300 characters',
        payload: creds(`${'a'.repeat(60)}@${'b'.repeat(226)}.example.com`),
        register: bad('invalid_email'),
        login: LOGIN_REFUSED,
      },
      {
        name: 'NUL byte in the email',
        payload: creds('nul\u0000byte@example.com'),
        register: bad('invalid_email'),
        login: LOGIN_REFUSED,
      },
      {
        name: "a real account's email + NUL, right password (truncation)",
        payload: creds(`${victim.email}\u0000`),
        register: bad('invalid_email'),
        login: LOGIN_REFUSED,
      },
      {
        name: "a real account's email + NUL + junk, right password",
        payload: creds(`${victim.email}\u0000junk`),
        register: bad('invalid_email'),
        login: LOGIN_REFUSED,
      },
      {
        name: 'line separator U+2028 in the email',
        payload: creds('line\u2028sep@example.com'),
        register: bad('invalid_email'),
        login: LOGIN_REFUSED,
      },
      { name: "SQL: ' OR '1'='1", payload: creds("' OR '1'='1"), register: bad('invalid_email'), login: LOGIN_REFUSED },
      {
        name: 'SQL: "; DROP TABLE users; --',
        payload: creds('"; DROP TABLE users; --'),
        register: bad('invalid_email'),
        login: LOGIN_REFUSED,
      },
      {
        name: "SQL: a real account's email + ' OR '1'='1",
        payload: creds(`${victim.email}' OR '1'='1`),
        register: bad('invalid_email'),
        login: LOGIN_REFUSED,
      },
      // Passwords the domain refuses.
      {
        name: 'NUL bytes in a too-short password',
        payload: creds(uniqueEmail(), 'abc\u0000def'),
        register: bad('invalid_password'),
        login: LOGIN_REFUSED,
      },
      {
        name: 'password of 257 characters',
        payload: creds(uniqueEmail(), 'x'.repeat(257)),
        register: bad('invalid_password'),
        login: LOGIN_REFUSED,
      },
      {
        name: "SQL as the password of a real account: ' OR '1'='1",
        payload: creds(victim.email, "' OR '1'='1"),
        register: bad('email_taken'),
        login: LOGIN_REFUSED,
      },
    ];
    const usersBefore = await users();
    const sessionsBefore = await sessions();
    for (const c of cases) {
      assertRefused(t, await post(app, 'register', c.payload, c.contentType), c.register, `register: ${c.name}`);
      assertRefused(t, await post(app, 'login', c.payload, c.contentType), c.login ?? c.register, `login: ${c.name}`);
    }
    t.equal(await users(), usersBefore, 'no user written by the whole batch');
    t.equal(await sessions(), sessionsBefore, 'no session started by the whole batch');
    t.equal((await login(app, victim.email)).res.statusCode, 200, "the real account's owner still logs in");
  });

  t.test('an email with a lone surrogate (ill-formed UTF-16) is refused, not rewritten', async (t) => {
    // A lone surrogate is not a character. Encoded as UTF-8 for the database it becomes U+FFFD, so
    // different inputs would name one account: the only correct answer is invalid_email.
    const before = await users();
    assertRefused(
      t,
      await post(app, 'register', creds('\ud800@example.com')),
      bad('invalid_email'),
      'register: \\ud800@example.com',
    );
    assertRefused(
      t,
      await post(app, 'register', creds('\udbff@example.com')),
      bad('invalid_email'),
      'register: \\udbff@example.com (another lone surrogate)',
    );
    assertRefused(
      t,
      await post(app, 'login', creds('\udc00@example.com')),
      LOGIN_REFUSED,
      'login: \\udc00@example.com (a third one)',
    );
    t.equal(await users(), before, 'no user written');
  });

  t.test('invisible format characters are refused: no look-alike accounts', async (t) => {
    const before = await users();
    for (const [name, email] of [
      ['zero-width joiner', 'ad\u200dmin@example.com'],
      ['zero-width space', 'ad\u200bmin@example.com'],
      ['right-to-left override', '\u202eadmin@example.com'],
      ['byte order mark', '\ufeffadmin@example.com'],
      ['private use character', 'ad\ue000min@example.com'],
    ]) {
      assertRefused(t, await post(app, 'register', creds(email!)), bad('invalid_email'), `register: ${name}`);
      assertRefused(t, await post(app, 'login', creds(email!)), LOGIN_REFUSED, `login: ${name}`);
    }
    t.equal(await users(), before, 'no user written');
  });

  t.test('look-alikes of an existing address are refused: invalid (400) or the same account (409)', async (t) => {
    const { app: fresh, db: freshDb } = await buildTestApp(t);
    await register(fresh, 'victim@example.com');
    await register(fresh, 'ace@example.com');
    const cases: [name: string, email: string, expect: Expect][] = [
      ['U+034F combining grapheme joiner', 'vic\u034ftim@example.com', bad('invalid_email')],
      ['U+FE0F variation selector', 'victim\ufe0f@example.com', bad('invalid_email')],
      ['U+3164 Hangul filler', 'vic\u3164tim@example.com', bad('invalid_email')],
      ['U+2800 Braille blank', 'victim\u2800@example.com', bad('invalid_email')],
      ['U+115F Hangul choseong filler', '\u115fvictim@example.com', bad('invalid_email')],
      ['fullwidth letters', '\uff56\uff49\uff43\uff54\uff49\uff4d@example.com', bad('email_taken')],
      ['fullwidth commercial at', 'victim\uff20example.com', bad('email_taken')],
      ['Cyrillic і in a Latin local part (mixed script)', 'v\u0456ctim@example.com', bad('invalid_email')],
      ['Cyrillic о in a Latin domain (mixed script)', 'victim@exampl\u0435.com', bad('invalid_email')],
      ['all-Cyrillic local part spelling ace', '\u0430\u0441\u0435@example.com', bad('email_taken')],
      ['Greek ν in a Latin local part (mixed script)', '\u03bdictim@example.com', bad('invalid_email')],
      ['dotless ı', 'v\u0131ctim@example.com', bad('email_taken')],
      ['İ (lower-cases to i + combining dot above)', 'v\u0130ctim@example.com', bad('invalid_email')],
      ['i + combining dot above', 'vi\u0307ctim@example.com', bad('invalid_email')],
      ['mathematical bold', '\u{1d42f}\u{1d422}\u{1d41c}\u{1d42d}\u{1d422}\u{1d426}@example.com', bad('email_taken')],
      ['circled letters', '\u24e5\u24d8\u24d2\u24e3\u24d8\u24dc@example.com', bad('email_taken')],
      ['upper case', 'VICTIM@EXAMPLE.COM', bad('email_taken')],
      ['rn for m (confusables.txt)', 'victirn@example.com', bad('email_taken')],
    ];
    const before = await freshDb.database.prisma.user.count();
    for (const [name, email, expect] of cases) {
      assertRefused(t, await post(fresh, 'register', creds(email)), expect, `register: ${name}`);
    }
    t.equal(await freshDb.database.prisma.user.count(), before, 'no look-alike account was written');
    for (const [name, email, expect] of cases) {
      if (expect[1] === 'invalid_email')
        assertRefused(t, await post(fresh, 'login', creds(email)), LOGIN_REFUSED, `login: ${name}`);
    }
    t.equal(
      (await post(fresh, 'login', creds('victim@example.com'))).statusCode,
      200,
      'positive control: the owner logs in',
    );
  });

  t.test('bodies that are not UTF-8 are refused, not decoded to U+FFFD (three spellings, one account)', async (t) => {
    const { app: fresh, db: freshDb } = await buildTestApp(t);
    const raw = (bytes: number[]) =>
      Buffer.concat([
        Buffer.from('{"email":"vic'),
        Buffer.from(bytes),
        Buffer.from(`tim@example.com","password":"${PASSWORD}"}`),
      ]);
    const spellings: [name: string, body: Buffer][] = [
      ['0xFF', raw([0xff])],
      ['0xC0 0x80 (overlong NUL)', raw([0xc0, 0x80])],
      ['0xED 0xA0 0x80 (encoded surrogate)', raw([0xed, 0xa0, 0x80])],
      ['0xE2 0x82 (truncated sequence)', raw([0xe2, 0x82])],
    ];
    for (const [name, body] of spellings) {
      for (const route of ['register', 'login'] as const) {
        const res = await fresh.inject({
          method: 'POST',
          url: `/auth/${route}`,
          payload: body,
          headers: { 'content-type': JSON_TYPE },
        });
        assertRefused(t, res, bad('invalid_encoding'), `${route}: ${name}`);
      }
    }
    // Form bodies (/oauth/*; their errors also carry RFC 6749's `error`).
    const form = await fresh.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: Buffer.concat([Buffer.from('token=ab'), Buffer.from([0xff]), Buffer.from('cd')]),
    });
    t.equal(form.statusCode, 400, 'introspect form body with a raw 0xFF: 400');
    t.equal(bodyOf(form).code, 'invalid_encoding', 'introspect form body with a raw 0xFF: invalid_encoding');
    t.equal(await freshDb.database.prisma.user.count(), 0, 'no account was opened by any spelling');
    // The same, sent over a real socket: nothing between the wire and the parser repairs the bytes.
    await fresh.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fresh.server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body: raw([0xff]),
    });
    t.equal(res.status, 400, 'real socket: a raw 0xFF in the body is refused with 400');
    t.equal(((await res.json()) as { code: string }).code, 'invalid_encoding', 'real socket: invalid_encoding');
    const ok = await fresh.inject({
      method: 'POST',
      url: '/auth/register',
      payload: Buffer.from(creds('victim@example.com')),
      headers: { 'content-type': JSON_TYPE },
    });
    t.equal(ok.statusCode, 201, 'positive control: the same recipe with valid UTF-8 registers');
  });

  t.test('passwords: lone surrogates refused, length counted after NFKC', async (t) => {
    const cases: [name: string, password: string][] = [
      ['a lone high surrogate', 'correct horse \ud800 battery'],
      ['a lone low surrogate', '\udc00\udc00\udc00\udc00\udc00\udc00\udc00\udc00'],
      ['8 code points that NFKC composes to 4 (e + combining acute)', 'e\u0301'.repeat(4)],
      ['100 ligatures that NFKC expands to 300 letters', '\ufb03'.repeat(100)],
    ];
    for (const [name, password] of cases) {
      assertRefused(
        t,
        await post(app, 'register', creds(uniqueEmail(), password)),
        bad('invalid_password'),
        `register: ${name}`,
      );
    }
    // Eight different composed letters (one letter repeated is screened as a common password).
    const composed = '\u00e9\u00e8\u00ea\u00eb\u00e0\u00e2\u00f4\u00fb';
    const email = uniqueEmail();
    t.equal(
      (await post(app, 'register', creds(email, composed))).statusCode,
      201,
      'positive control: 8 composed letters',
    );
    t.equal(
      (await post(app, 'login', creds(email, composed.normalize('NFD')))).statusCode,
      200,
      'the decomposed spelling is the same password',
    );
  });

  t.test('composed and decomposed forms of one address are one account (NFC)', async (t) => {
    const composed = `j\u00fcrgen-${uniqueEmail()}`;
    const decomposed = composed.replace('\u00fc', 'u\u0308');
    t.not(composed, decomposed, 'the two spellings differ as strings');
    t.equal((await post(app, 'register', creds(composed))).statusCode, 201, 'the composed spelling registers');
    assertRefused(
      t,
      await post(app, 'register', creds(decomposed)),
      bad('email_taken'),
      'the other form is the same address',
    );
    t.equal((await post(app, 'login', creds(decomposed))).statusCode, 200, 'and logs in to the same account');
  });

  t.test('odd but valid: accepted by design (src/domain/accounts/emails.ts)', async (t) => {
    // emails.ts is deliberately plain: trimmed, NFC, lower-cased, one @, a dot in the domain; no whitespace,
    // control, format, private-use or unassigned characters, no lone surrogates. Internationalised
    // addresses are valid (RFC 6531).
    const accepted: [name: string, email: string, password: string][] = [
      ['unicode email (ü@exämple.com)', 'ü@exämple.com', PASSWORD],
      ['right-to-left script (Hebrew)', 'משתמש@דוגמה.ישראל', PASSWORD],
      ["SQL-looking but valid local part (admin'--)", "admin'--@x.com", PASSWORD],
      ['NUL byte inside a long enough password', uniqueEmail(), 'correct\u0000horse battery'],
    ];
    const before = await users();
    for (const [name, email, password] of accepted) {
      const res = await post(app, 'register', creds(email, password));
      t.equal(res.statusCode, 201, `${name}: 201`);
      t.equal(
        (bodyOf(res).user as { email?: string } | undefined)?.email,
        email.trim().toLowerCase(),
        `${name}: stored as sent (normalised)`,
      );
      const ok = await post(app, 'login', creds(email, password));
      t.equal(ok.statusCode, 200, `${name}: the owner logs in`);
    }
    t.equal(await users(), before + accepted.length, `${accepted.length} users written, no more`);

    // The password is hashed whole: nothing after a NUL is ignored, nothing is truncated.
    const nulUser = accepted.at(-1)!;
    assertRefused(
      t,
      await post(app, 'login', creds(nulUser[1], 'correct')),
      LOGIN_REFUSED,
      'login with the password cut at its NUL',
    );
    assertRefused(
      t,
      await post(app, 'login', creds(nulUser[1], 'correct\u0000')),
      LOGIN_REFUSED,
      'login with the password cut after its NUL',
    );
    t.equal(
      await db.database.prisma.user.count({ where: { email: "admin'--@x.com" } }),
      1,
      'the SQL-looking address is just data',
    );
  });
});
