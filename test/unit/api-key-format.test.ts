// Unit tier: the API-key format (src/domain/api-keys/api-key-format.ts). What secret scanners and typo
// detection rely on: the prefix, the published pattern, 256 bits of secret, and a checksum that catches
// every single-character change and truncation without any lookup.
import t from 'tap';
import {
  API_KEY_PATTERN,
  API_KEY_PREFIX,
  looksLikeApiKey,
  newApiKey,
  newApiKeyId,
  parseApiKey,
} from '../../src/domain/api-keys/api-key-format.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

t.test('a new key has the prefix, matches the published pattern and parses back to its id', async (t) => {
  for (let i = 0; i < 200; i++) {
    const id = newApiKeyId();
    const key = newApiKey(id);
    t.ok(key.startsWith(API_KEY_PREFIX), 'every key starts with tsk_, which secret scanners match on');
    t.match(key, API_KEY_PATTERN, 'every key matches the pattern docs/oauth-apps.md publishes');
    t.same(parseApiKey(key), { id, key }, 'a well-formed key parses to the id it was made with');
    t.ok(looksLikeApiKey(key), 'a key is recognised as one by its prefix');
  }
});

t.test('the secret part carries 256 bits: 43 base62 characters, all different across keys', async (t) => {
  const secrets = new Set<string>();
  for (let i = 0; i < 500; i++) secrets.add(newApiKey(newApiKeyId()).slice(17, 60));
  t.equal(secrets.size, 500, 'no two keys share a secret');
  t.ok(62 ** 43 >= 2 ** 256, '43 base62 characters hold 256 bits');
  const ids = new Set(Array.from({ length: 500 }, () => newApiKeyId()));
  t.equal(ids.size, 500, 'ids are random too');
});

t.test('every single-character typo is refused by the checksum, so it never reaches the database', async (t) => {
  const key = newApiKey(newApiKeyId());
  let refused = 0;
  let tried = 0;
  for (let i = API_KEY_PREFIX.length; i < key.length; i++) {
    if (key[i] === '_') continue;
    for (const c of ALPHABET) {
      if (c === key[i]) continue;
      tried++;
      if (parseApiKey(key.slice(0, i) + c + key.slice(i + 1)) === null) refused++;
    }
  }
  t.equal(refused, tried, 'every one-character substitution fails the CRC32 check');
  const swapped = key.slice(0, 20) + key[21] + key[20] + key.slice(22);
  if (swapped !== key) t.equal(parseApiKey(swapped), null, 'two swapped neighbours fail the check');
});

t.test('truncated, extended, mis-prefixed and empty keys are refused by the shape alone', async (t) => {
  const key = newApiKey(newApiKeyId());
  for (const bad of [
    key.slice(0, -1),
    `${key}0`,
    `tsx_${key.slice(4)}`,
    '',
    'tsk_',
    key.replace('_', '-'),
    ` ${key}`,
  ]) {
    t.equal(parseApiKey(bad), null, `refused: ${JSON.stringify(bad.slice(0, 12))}…`);
  }
});
