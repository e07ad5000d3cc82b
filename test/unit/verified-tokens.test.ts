// The memory of verified access tokens (src/domain/tokens/verified-tokens.ts), on its own: what it keeps, and
// what it checks again at every lookup. The HTTP side is test/integration/access-token-reuse.test.ts.
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { VerifiedTokens } from '../../src/domain/tokens/verified-tokens.js';
import type { KeyStore, VerificationKey } from '../../src/domain/keys/keys.js';

const NOW = 1_800_000_000;
const key: VerificationKey = {
  alg: 'ES256',
  publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
  signedNoLaterThan: null,
};
let published: VerificationKey | undefined = key;
const keys = { verificationKey: (kid: unknown) => (kid === 'k1' ? published : undefined) } as unknown as KeyStore;
const clock = { now: () => new Date(NOW * 1000) };
const claims = () => ({ sub: 's', sid: 'x', iat: NOW - 10, exp: NOW + 890 });
// A one-byte "signature": its last character carries four spare bits, so `YR` spells the same byte as `YQ`.
const TOKEN = 'aGVhZGVy.cGF5bG9hZA.YQ';

t.test('a kept token is found while its key is published and its dates hold', async (t) => {
  published = key;
  const memory = new VerifiedTokens(keys, clock, 900);
  t.equal(memory.lookup(TOKEN), undefined, 'nothing is known at first');
  memory.remember(TOKEN, 'k1', key, claims());
  t.match(memory.lookup(TOKEN), { sub: 's' }, 'a kept token is found');
  t.ok(Object.isFrozen(memory.lookup(TOKEN)), 'its claims are frozen');
  published = { ...key, publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey };
  t.equal(memory.lookup(TOKEN), undefined, 'another key under the same kid: verified in full again');
  published = undefined;
  memory.remember(TOKEN, 'k1', key, claims());
  t.equal(memory.lookup(TOKEN), undefined, 'a key no longer published: verified in full again');
});

t.test(
  'a kept token past its exp or its lifetime rule is not found; other spellings of a token are not kept',
  async (t) => {
    published = key;
    const memory = new VerifiedTokens(keys, clock, 900);
    memory.remember(TOKEN, 'k1', key, { ...claims(), exp: NOW });
    t.equal(memory.lookup(TOKEN), undefined, 'at its exp it is not found: the full verification refuses it');
    memory.remember(TOKEN, 'k1', key, { ...claims(), iat: NOW - 2000 });
    t.equal(memory.lookup(TOKEN), undefined, 'nor when the lifetime rule fails (here: exp − iat past the TTL)');
    for (const spelling of [`${TOKEN}==`, `${TOKEN.slice(0, -1)}R`]) {
      memory.remember(spelling, 'k1', key, claims());
      t.equal(memory.lookup(spelling), undefined, `${spelling}: a non-canonical signature is not kept`);
    }
  },
);
