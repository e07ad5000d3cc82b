// Unit tier: the refresh token format (version, key id, session, counter, HMAC) minted and parsed, with an
// in-memory key ring: no app, no database.
import t from 'tap';
import { randomBytes, randomUUID } from 'node:crypto';
import { RefreshTokens, isLegacyToken } from '../../src/domain/sessions/refresh-tokens.js';
import type { MacKey, MacKeyRing } from '../../src/domain/keys/refresh-keys.js';

const keyOf = (id: string): MacKey => ({
  id,
  secret: randomBytes(32),
  createdAt: new Date(0),
  file: `refresh-x-${id}.key`,
});
function ring(minting: MacKey, ...others: MacKey[]): MacKeyRing {
  const all = [minting, ...others];
  return { minting, key: (id: string) => all.find((k) => k.id === id) } as unknown as MacKeyRing;
}

t.test('a minted token parses back to its session and counter', async (t) => {
  const tokens = new RefreshTokens(ring(keyOf('0a0b0c0d')));
  const sessionId = randomUUID();
  const token = tokens.mint(sessionId, 42n);
  t.match(token, /^[A-Za-z0-9_-]{82}$/, '82 base64url characters');
  t.same(tokens.verify(token), { sessionId, counter: 42n }, 'the same session and counter');
  t.equal(isLegacyToken(token), false, 'not a legacy token');
  t.equal(isLegacyToken(randomBytes(32).toString('base64url')), true, 'a 43-character token is legacy');
});

t.test('any change to a token, or an unknown key, makes it nothing', async (t) => {
  const old = keyOf('11111111');
  const tokens = new RefreshTokens(ring(old));
  const token = tokens.mint(randomUUID(), 1n);
  const raw = Buffer.from(token, 'base64url');
  for (const at of [0, 1, 5, 21, 28, 29, 60]) {
    const tampered = Buffer.from(raw);
    tampered[at]! ^= 1;
    t.equal(tokens.verify(tampered.toString('base64url')), null, `byte ${at} flipped`);
  }
  t.equal(tokens.verify(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`), null, 'last character changed');
  t.equal(tokens.verify(token.slice(1)), null, 'too short');
  t.equal(tokens.verify(`${token}A`), null, 'too long');
  t.equal(new RefreshTokens(ring(keyOf('22222222'))).verify(token), null, 'a ring without its key');
  t.ok(new RefreshTokens(ring(keyOf('22222222'), old)).verify(token), 'a ring that still holds its key (rotation)');
});
