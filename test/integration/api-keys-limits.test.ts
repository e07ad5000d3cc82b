// The limits of API-key use: per key (100 uses at the same instant, exactly the limit pass), and per client
// address ahead of the lookup (a flood of made-up keys with valid checksums stops costing statements once
// the address is over its limit). Both answer 429 too_many_requests with Retry-After.
import t from 'tap';
import { buildTestApp, expectError, recordStatements } from '../helper.js';
import { introspect, secretClient } from '../authz-fixtures.js';
import { exchange, userKey } from '../api-key-fixtures.js';
import { newApiKey, newApiKeyId } from '../../src/domain/api-keys/api-key-format.js';

const orders = secretClient('orders', 'scope=introspect');

t.test('100 uses of one key at the same instant: exactly the per-key limit get tokens', async (t) => {
  const { app } = await buildTestApp(t, {
    env: { API_KEY_RATE_LIMIT_PER_MINUTE: '25', API_KEY_ADDRESS_RATE_LIMIT_PER_MINUTE: '0' },
  });
  const { key } = await userKey(app, ['support']);
  const other = await userKey(app, ['support']);
  const answers = await Promise.all(Array.from({ length: 100 }, () => exchange(app, key)));
  t.equal(answers.filter((r) => r.statusCode === 200).length, 25, 'exactly 25 of 100 get a token');
  for (const r of answers.filter((r) => r.statusCode !== 200)) {
    expectError(t, r, 'too_many_requests', 'the others');
    t.ok(Number(r.headers['retry-after']) >= 1, 'with Retry-After');
  }
  t.equal((await exchange(app, other.key)).statusCode, 200, 'another key has its own budget');
});

t.test('a key presented at introspection counts against the same per-key limit', async (t) => {
  const { app } = await buildTestApp(t, {
    env: {
      SERVICE_CLIENTS: orders.entry,
      API_KEY_RATE_LIMIT_PER_MINUTE: '5',
      API_KEY_ADDRESS_RATE_LIMIT_PER_MINUTE: '0',
    },
  });
  const { key } = await userKey(app, ['support']);
  const answers = await Promise.all(Array.from({ length: 20 }, () => introspect(app, orders, key)));
  t.equal(answers.filter((r) => r.statusCode === 200).length, 5, 'five introspections of the key answer');
});

t.test('a flood of unknown keys from one address is cut off before the lookup', async (t) => {
  const { app, db } = await buildTestApp(t, {
    env: { API_KEY_RATE_LIMIT_PER_MINUTE: '0', API_KEY_ADDRESS_RATE_LIMIT_PER_MINUTE: '30' },
  });
  const { key } = await userKey(app, ['support']);
  const flood = (ip: string) =>
    Promise.all(Array.from({ length: 50 }, () => exchange(app, newApiKey(newApiKeyId()), {}, {}, ip)));
  const first = await flood('203.0.113.50');
  t.equal(first.filter((r) => r.statusCode === 400).length, 30, '30 made-up keys are looked up and refused');
  t.equal(first.filter((r) => r.statusCode === 429).length, 20, 'the other 20 are throttled');
  const recording = recordStatements(db);
  const more = await flood('203.0.113.50');
  const statements = recording.stop().filter((s) => /api_keys/.test(s));
  t.ok(
    more.every((r) => r.statusCode === 429),
    'the address stays throttled',
  );
  t.same(statements, [], 'no lookup runs for a throttled address');
  t.equal((await exchange(app, key, {}, {}, '198.51.100.1')).statusCode, 200, 'another address is not affected');
});
