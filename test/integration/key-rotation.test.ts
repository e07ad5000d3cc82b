// Zero-downtime key rotation: next → active → retired, agreed on by every instance sharing KEYS_DIR.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { ensureKeys, prune, retire, rotate, type RotationPolicy } from '../../src/domain/keys/key-rotation.js';
import { buildTestApp, createTestDatabase, ManualClock, me, session, tempDir, type TestApp } from '../helper.js';

const kidOf = (token: string) => decodeProtectedHeader(token).kid!;
const jwksOf = async (app: TestApp) => await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
const published = async (app: TestApp) => ((await jwksOf(app)).json().keys as { kid: string }[]).map((k) => k.kid);

// Matches buildTestApp's config below: JWKS cached 300 s, directory re-read every 30 s, 900 s tokens.
const policy: RotationPolicy = {
  leadSeconds: 330,
  reloadSeconds: 30,
  rotationDays: 0,
  alg: 'RS256',
  accessTokenTtlSeconds: 900,
};

t.test('a fresh KEYS_DIR gets an active key and a published next key', async (t) => {
  const { app } = await buildTestApp(t, { keysDir: await tempDir(t) });
  const [active, next] = app.services.keys.statuses.sort((a) => (a.state === 'active' ? -1 : 1));
  t.equal(active!.state, 'active', 'a fresh keys folder has an active key');
  t.equal(next!.state, 'next', 'and a next key');
  t.same(await published(app), [active!.key.kid, next!.key.kid], 'the next key is published before it ever signs');
  const res = await jwksOf(app);
  t.equal(res.headers['cache-control'], 'public, max-age=300', 'verifiers may cache the JWKS for five minutes');
  const again = await app.inject({
    method: 'GET',
    url: '/.well-known/jwks.json',
    headers: { 'if-none-match': res.headers.etag as string },
  });
  t.equal(again.statusCode, 304, 'an unchanged JWKS answers 304 to its ETag');
});

t.test(
  'two instances sharing KEYS_DIR switch to the rotated key at the same instant; old tokens keep working',
  async (t) => {
    const db = await createTestDatabase();
    t.teardown(() => db.close());
    const keysDir = await tempDir(t);
    const clock = new ManualClock(new Date());
    const { app: a } = await buildTestApp(t, { db, keysDir, clock });
    const { app: b } = await buildTestApp(t, { db, keysDir, clock });
    t.equal(a.services.keys.signing.kid, b.services.keys.signing.kid, 'they agree from the start');
    t.same(await published(a), await published(b), 'both instances publish the same keys');
    const before = await session(a);
    const oldKid = kidOf(before.accessToken);

    clock.advance(600); // the next key has been published for longer than the lead
    const r = await rotate(keysDir, clock.now(), policy);
    t.equal(
      r.activatesAt.getTime(),
      clock.now().getTime() + 60_000,
      'it signs once every instance has surely re-read the folder (twice the reload interval)',
    );
    await a.reloadKeys();
    await b.reloadKeys();
    t.equal(a.services.keys.signing.kid, oldKid, 'not yet');
    t.ok((await published(b)).includes(r.newNext), 'the new next key is published at once');

    clock.advance(60);
    t.equal(a.services.keys.signing.kid, r.promoted, 'instance a switched');
    t.equal(b.services.keys.signing.kid, r.promoted, 'instance b switched at the same moment, without another reload');
    const after = await session(b);
    t.equal(kidOf(after.accessToken), r.promoted, 'tokens signed after the switch carry the promoted key id');
    t.equal((await me(a, after.accessToken)).statusCode, 200, 'a verifies what b signs');
    t.equal((await me(b, before.accessToken)).statusCode, 200, 'tokens of the retired key still verify');

    const set = createLocalJWKSet((await jwksOf(a)).json());
    await t.resolves(
      jwtVerify(before.accessToken, set, { currentDate: clock.now() }),
      'an outside verifier has both keys',
    );
    await t.resolves(
      jwtVerify(after.accessToken, set, { currentDate: clock.now() }),
      'an outside verifier accepts the token signed with the new key',
    );

    clock.advance(900 + 60 + 30 - 1);
    t.ok((await published(a)).includes(oldKid), 'published while a token it signed may live (TTL + skew + reload)');
    clock.advance(1);
    t.notOk((await published(a)).includes(oldKid), 'once its last token has expired, the retired key leaves the JWKS');
    t.equal(
      (await me(a, before.accessToken)).statusCode,
      401,
      'a token of the retired key no longer opens /auth/me once the key left the JWKS',
    );
    t.same(await prune(keysDir, clock.now(), policy), [oldKid], 'and prune deletes its files');
    t.notOk(
      (await readdir(keysDir)).some((f) => f.startsWith(oldKid)),
      'no file of the pruned key is left',
    );
  },
);

t.test('the lead rule: a key published moments ago does not sign until caches can hold it', async (t) => {
  const keysDir = await tempDir(t);
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { keysDir, clock });
  const first = await rotate(keysDir, clock.now(), policy); // the next key was made at boot, just now
  const nextCreated = app.services.keys.statuses.find((s) => s.key.kid === first.promoted)!.key.schedule.createdAt;
  t.equal(
    first.activatesAt.getTime(),
    nextCreated.getTime() + 330_000,
    'JWKS_MAX_AGE_SECONDS + KEYS_RELOAD_SECONDS after it was published',
  );
  t.equal(first.delayed, true, 'the rotation reports that the new key waits out the lead');
  await app.reloadKeys();
  clock.advance(329);
  t.not(
    app.services.keys.signing.kid,
    first.promoted,
    'the promoted key does not sign a second before the lead is over',
  );
  clock.advance(1);
  t.equal(app.services.keys.signing.kid, first.promoted, 'the promoted key signs once the lead is over');

  const urgent = await rotate(keysDir, clock.now(), policy, { immediate: true });
  await app.reloadKeys();
  t.equal(
    app.services.keys.signing.kid,
    urgent.promoted,
    '--now skips the wait (verifiers refetch on the unknown kid)',
  );
});

t.test(
  'retire: the active key stops signing now and the next one takes over; a next key can be retired too',
  async (t) => {
    const keysDir = await tempDir(t);
    const clock = new ManualClock(new Date());
    const { app } = await buildTestApp(t, { keysDir, clock });
    const compromised = app.services.keys.signing.kid;
    const token = (await session(app)).accessToken;
    const r = await retire(keysDir, compromised, clock.now(), policy);
    await app.reloadKeys();
    t.equal(app.services.keys.signing.kid, r.promoted, 'the next key signs as soon as the active one is retired');
    t.equal(
      app.services.keys.statuses.find((s) => s.key.kid === compromised)!.state,
      'retired',
      'the compromised key is marked retired',
    );
    t.equal(
      (await me(app, token)).statusCode,
      200,
      'still published for its outstanding tokens (delete the files to cut them off)',
    );
    const next = app.services.keys.statuses.find((s) => s.state === 'next')!.key.kid;
    await retire(keysDir, next, clock.now(), policy);
    await app.reloadKeys();
    t.equal(
      app.services.keys.statuses.find((s) => s.key.kid === next)!.state,
      'retired',
      'a retired next key never signs',
    );
    clock.advance(400);
    await app.reloadKeys();
    t.ok(
      app.services.keys.statuses.some((s) => s.state === 'next' && s.key.kid !== next),
      'the service made a new next key',
    );
    await t.rejects(
      retire(keysDir, 'no-such-kid', clock.now(), policy),
      /no key no-such-kid/,
      'retiring an unknown key id fails, naming it',
    );
  },
);

t.test('KEY_ROTATION_DAYS: the next key is scheduled and takes over by itself', async (t) => {
  const keysDir = await tempDir(t);
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { keysDir, clock, env: { KEY_ROTATION_DAYS: '30' } });
  const first = app.services.keys.signing.kid;
  const next = app.services.keys.statuses.find((s) => s.state === 'next')!;
  t.equal(
    next.key.schedule.activatesAt!.getTime() -
      app.services.keys.statuses.find((s) => s.state === 'active')!.key.schedule.activatesAt!.getTime(),
    30 * 86_400_000,
    'the next key is scheduled KEY_ROTATION_DAYS after the active one',
  );
  clock.advance(30 * 86400);
  t.equal(app.services.keys.signing.kid, next.key.kid, 'rotated on schedule, no command');
  t.not(app.services.keys.signing.kid, first, 'the first key no longer signs');
  await app.reloadKeys();
  const newNext = app.services.keys.statuses.find((s) => s.state === 'next');
  t.ok(newNext, 'and a new next key is waiting');
  t.equal(
    newNext!.key.schedule.activatesAt!.getTime() - next.key.schedule.activatesAt!.getTime(),
    30 * 86_400_000,
    'the new next key is scheduled KEY_ROTATION_DAYS later again',
  );
  const done = await ensureKeys(keysDir, clock.now(), { ...policy, rotationDays: 30 }, { generateIfEmpty: false });
  t.same(done, [], 'nothing left to do: instances repeating the tick change nothing');
});

for (const [alg, kty, members] of [
  ['ES256', 'EC', ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']],
  ['EdDSA', 'OKP', ['alg', 'crv', 'kid', 'kty', 'use', 'x']],
] as const) {
  t.test(`SIGNING_ALG=${alg}: tokens, JWKS members and verification`, async (t) => {
    const { app } = await buildTestApp(t, { env: { SIGNING_ALG: alg } });
    const s = await session(app);
    t.equal(decodeProtectedHeader(s.accessToken).alg, alg, `${alg}: access tokens are signed with ${alg}`);
    t.equal((await me(app, s.accessToken)).statusCode, 200, `${alg}: the access token opens /auth/me`);
    const jwks = (await jwksOf(app)).json();
    for (const jwk of jwks.keys) {
      t.equal(jwk.kty, kty, `${alg}: every published key is of type ${kty}`);
      t.same(Object.keys(jwk).sort(), [...members], 'public members only');
    }
    await t.resolves(
      jwtVerify(s.accessToken, createLocalJWKSet(jwks), { algorithms: [alg] }),
      `${alg}: an outside verifier accepts the token with the served JWKS`,
    );
    const doc = (await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
    t.same(
      doc.access_token_signing_alg_values_supported,
      [alg],
      `${alg}: discovery announces ${alg} as the only signing algorithm`,
    );
  });
}

t.test(
  'switching SIGNING_ALG: RS256 keeps signing until the rotation, then ES256; both verify meanwhile',
  async (t) => {
    const db = await createTestDatabase();
    t.teardown(() => db.close());
    const keysDir = await tempDir(t);
    const clock = new ManualClock(new Date());
    const { app: rsa } = await buildTestApp(t, { db, keysDir, clock });
    const old = await session(rsa);
    await rsa.close();
    // The existing next key is RSA; retire it so the next one made is ES256.
    const es = await buildTestApp(t, { db, keysDir, clock, env: { SIGNING_ALG: 'ES256' } });
    const rsaNext = es.app.services.keys.statuses.find((s) => s.state === 'next')!.key.kid;
    await retire(keysDir, rsaNext, clock.now(), { ...policy, alg: 'ES256' });
    await es.app.reloadKeys();
    const ecNext = es.app.services.keys.statuses.find((s) => s.state === 'next')!;
    t.equal(ecNext.key.alg, 'ES256', 'the next key made after the switch is ES256');
    t.equal(
      decodeProtectedHeader((await session(es.app)).accessToken).alg,
      'RS256',
      'the active RSA key signs until the rotation',
    );
    clock.advance(400);
    await rotate(keysDir, clock.now(), { ...policy, alg: 'ES256' });
    clock.advance(60);
    await es.app.reloadKeys();
    const fresh = await session(es.app);
    t.equal(decodeProtectedHeader(fresh.accessToken).alg, 'ES256', 'after the rotation, new tokens are ES256');
    t.equal((await me(es.app, old.accessToken)).statusCode, 200, 'RS256 tokens still verify');
    const doc = (await es.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
    t.same(
      [...doc.access_token_signing_alg_values_supported].sort(),
      ['ES256', 'RS256'],
      'discovery announces both algorithms while both verify',
    );
  },
);

t.test('turning KEY_ROTATION_DAYS on for keys older than N days never drops the active key', async (t) => {
  const keysDir = await tempDir(t);
  const clock = new ManualClock(new Date(Date.now() - 30 * 86_400_000));
  await ensureKeys(keysDir, clock.now(), policy, { generateIfEmpty: true }); // a month-old set
  clock.advance(30 * 86400);
  const { app } = await buildTestApp(t, { keysDir, clock, env: { KEY_ROTATION_DAYS: '7' } });
  const before = await session(app);
  const next = app.services.keys.statuses.find((s) => s.state === 'next')!;
  t.ok(next.key.schedule.activatesAt! > clock.now(), 'the overdue rotation is scheduled ahead, not in the past');
  t.ok(
    (await published(app)).includes(kidOf(before.accessToken)),
    "the active key's tokens stay verifiable through the JWKS",
  );
  t.equal((await me(app, before.accessToken)).statusCode, 200, "the active key's token still opens /auth/me");
  clock.advance(60);
  t.equal(app.services.keys.signing.kid, next.key.kid, 'and then it happens');
  t.equal((await me(app, before.accessToken)).statusCode, 200, 'tokens of the previous key still verify');
});

t.test(
  'files: hand-copied keys wait; a deleted active key hands over; a corrupt schedule is a clear error',
  async (t) => {
    const { copyFile, rm: remove, writeFile } = await import('node:fs/promises');
    const keysDir = await tempDir(t);
    const clock = new ManualClock(new Date());
    const { app } = await buildTestApp(t, { keysDir, clock });
    const { generateKeyFile } = await import('../../src/domain/keys/keys.js');
    const elsewhere = await tempDir(t);
    const copied = await generateKeyFile(elsewhere, clock.now());
    await copyFile(`${elsewhere}/${copied}.pem`, `${keysDir}/${copied}.pem`); // the .pem alone
    await app.reloadKeys();
    t.equal(
      app.services.keys.statuses.find((s) => s.key.kid === copied)!.state,
      'next',
      'a .pem without a schedule beside scheduled keys waits for rotate',
    );

    const active = app.services.keys.signing.kid;
    const token = (await session(app)).accessToken;
    await remove(`${keysDir}/${active}.pem`);
    await remove(`${keysDir}/${active}.json`);
    await app.reloadKeys();
    t.not(app.services.keys.signing.kid, active, 'deleting the active key makes a next key sign at once');
    t.equal((await me(app, token)).statusCode, 401, 'and tokens of the deleted key stop verifying');
    t.equal(
      (await me(app, (await session(app)).accessToken)).statusCode,
      200,
      'a token of the new signing key opens /auth/me',
    );

    const kid = app.services.keys.signing.kid;
    await retire(keysDir, kid, clock.now(), policy);
    const first = JSON.parse(
      await (await import('node:fs/promises')).readFile(`${keysDir}/${kid}.json`, 'utf8'),
    ).retired_at;
    clock.advance(5000);
    await retire(keysDir, kid, clock.now(), policy);
    const second = JSON.parse(
      await (await import('node:fs/promises')).readFile(`${keysDir}/${kid}.json`, 'utf8'),
    ).retired_at;
    t.equal(second, first, 'retiring twice keeps the first date: a key never comes back into the JWKS');

    await writeFile(`${keysDir}/${kid}.json`, '{ not json');
    const { KeyStore } = await import('../../src/domain/keys/keys.js');
    await t.rejects(
      KeyStore.open(keysDir, { clock, accessTokenTtlSeconds: 900, reloadSeconds: 30 }),
      {
        name: 'KeyError',
        message: `key schedule ${kid}.json is not valid JSON`,
      },
      'a corrupt key schedule refuses to open, naming the file',
    );
  },
);
