// An access token presented again is not verified again in full (src/domain/tokens/verified-tokens.ts): what its
// text fixes (signature, type, issuer, audience, claims) is remembered; what the time, the key store or the
// session can change is checked at every request. These tests present a token first (so it is remembered), then
// change each of those, and expect the refusal a token never seen would get.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { copyFile, rm } from 'node:fs/promises';
import { generateKeyFile } from '../../src/domain/keys/keys.js';
import { buildTestApp, ManualClock, me, session, tempDir } from '../helper.js';

t.test('50 requests at once with one remembered token all pass; its tampered copies never do', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await session(app);
  t.equal((await me(app, s.accessToken)).statusCode, 200, 'the token opens /auth/me (and is remembered)');
  const answers = await Promise.all(Array.from({ length: 50 }, () => me(app, s.accessToken)));
  t.same(
    answers.map((r) => r.statusCode),
    Array(50).fill(200),
    'fifty requests at the same instant with it all pass',
  );
  t.equal(answers[0]!.json().id, s.user.id, 'as its user');
  const [header, payload, signature] = s.accessToken.split('.') as [string, string, string];
  const flipped = signature.slice(0, -2) + (signature.at(-2) === 'A' ? 'B' : 'A') + signature.at(-1);
  t.equal((await me(app, `${header}.${payload}.${flipped}`)).statusCode, 401, 'a changed signature is refused');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: randomUUID() })).toString('base64url');
  t.equal((await me(app, `${header}.${forged}.${signature}`)).statusCode, 401, 'a changed payload is refused');
  t.equal((await me(app, s.accessToken)).statusCode, 200, 'the genuine token still passes');
  t.equal((await me(app, `${s.accessToken}==`)).statusCode, 200, 'spelled with padding too (verified in full)');
});

t.test('a remembered token is refused once it expires, its session ends, or its key is deleted', async (t) => {
  const clock = new ManualClock(new Date());
  const keysDir = await tempDir(t);
  const { app, config } = await buildTestApp(t, { clock, keysDir });
  const expiring = await session(app);
  t.equal((await me(app, expiring.accessToken)).statusCode, 200, 'a token opens /auth/me (and is remembered)');
  clock.advance(config.accessTokenTtl);
  t.equal((await me(app, expiring.accessToken)).statusCode, 401, 'at its exp it is refused');

  const ending = await session(app);
  t.equal((await me(app, ending.accessToken)).statusCode, 200, 'another token opens /auth/me');
  const out = await app.inject({ method: 'POST', url: '/auth/logout', cookies: { tessera_refresh: ending.refresh } });
  t.equal(out.statusCode, 204, 'its session is signed out');
  t.equal((await me(app, ending.accessToken)).statusCode, 401, 'the remembered token of an ended session is refused');

  // The operator deletes the signing key (as after a leak); a key copied in beforehand takes over.
  const elsewhere = await tempDir(t);
  const spare = await generateKeyFile(elsewhere, clock.now());
  await copyFile(`${elsewhere}/${spare}.pem`, `${keysDir}/${spare}.pem`);
  await app.reloadKeys();
  const leaked = await session(app);
  t.equal((await me(app, leaked.accessToken)).statusCode, 200, 'a token of the current key opens /auth/me');
  const kid = app.services.keys.signing.kid;
  await rm(`${keysDir}/${kid}.pem`);
  await rm(`${keysDir}/${kid}.json`);
  await app.reloadKeys();
  t.not(app.services.keys.signing.kid, kid, 'another key signs now');
  t.equal((await me(app, leaked.accessToken)).statusCode, 401, 'the remembered token of the deleted key is refused');
});
