// /admin is rate limited per caller and per client address (ADMIN_RATE_LIMIT_PER_MINUTE): 200 requests fired
// at the same instant from one admin token get exactly the budget answered and the rest refused with 429 and
// Retry-After, whatever addresses they come from; a flood of bad tokens from one address is cut off too.
import t from 'tap';
import { buildTestApp, expectError } from '../helper.js';
import { adminSession, bearer, clientToken, secretClient } from '../authz-fixtures.js';

const LIMIT = 50;
const BURST = 200;

t.test(
  '200 requests at once from one admin user are answered up to the limit and refused after it, from any address',
  async (t) => {
    const { app } = await buildTestApp(t, { env: { ADMIN_RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
    const admin = await adminSession(app);
    // Spread over 200 addresses: the per-address count never bites, the per-caller one must.
    const replies = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        app.inject({
          method: 'GET',
          url: '/admin/users',
          headers: bearer(admin.accessToken),
          remoteAddress: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        }),
      ),
    );
    const ok = replies.filter((r) => r.statusCode === 200);
    const refused = replies.filter((r) => r.statusCode === 429);
    t.equal(ok.length, LIMIT, `exactly ${LIMIT} of ${BURST} simultaneous admin requests are answered`);
    t.equal(refused.length, BURST - LIMIT, 'every request over the limit is refused');
    expectError(t, refused[0]!, 'too_many_requests', 'a refused admin request');
    t.ok(Number(refused[0]!.headers['retry-after']) >= 1, 'the refusal says when to come back');
    const rows = await app.services.database.prisma.auditEvent.count({ where: { type: 'rate_limited' } });
    t.equal(rows, 1, 'the flood leaves one audit row, not one per refusal');
  },
);

t.test('a service client token is limited per client, like an admin user', async (t) => {
  const client = secretClient('ops', 'scope=admin');
  const { app } = await buildTestApp(t, {
    env: { SERVICE_CLIENTS: client.entry, ADMIN_RATE_LIMIT_PER_MINUTE: String(LIMIT) },
  });
  const token = await clientToken(app, client, 'admin');
  const replies = await Promise.all(
    Array.from({ length: BURST }, (_, i) =>
      app.inject({
        method: 'GET',
        url: '/admin/audit',
        headers: bearer(token),
        remoteAddress: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      }),
    ),
  );
  t.equal(replies.filter((r) => r.statusCode === 200).length, LIMIT, 'the client gets its budget and no more');
  t.equal(replies.filter((r) => r.statusCode === 429).length, BURST - LIMIT, 'the rest are refused');
});

t.test('bad tokens from one address are cut off before they are checked; other callers go on', async (t) => {
  const { app } = await buildTestApp(t, { env: { ADMIN_RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
  const admin = await adminSession(app);
  const replies = await Promise.all(
    Array.from({ length: BURST }, () =>
      app.inject({
        method: 'GET',
        url: '/admin/users',
        headers: bearer('not.a.token'),
        remoteAddress: '192.0.2.7',
      }),
    ),
  );
  t.equal(
    replies.filter((r) => r.statusCode === 401).length,
    LIMIT,
    `only ${LIMIT} bad tokens from one address are checked`,
  );
  t.equal(replies.filter((r) => r.statusCode === 429).length, BURST - LIMIT, 'the rest are refused unchecked');
  const other = await app.inject({
    method: 'GET',
    url: '/admin/users',
    headers: bearer(admin.accessToken),
    remoteAddress: '192.0.2.8',
  });
  t.equal(other.statusCode, 200, 'an admin at another address is still served');
  const blocked = await app.inject({
    method: 'GET',
    url: '/admin/users',
    headers: bearer(admin.accessToken),
    remoteAddress: '192.0.2.7',
  });
  expectError(t, blocked, 'too_many_requests', 'the flooding address is refused even with a good token');
});

t.test('ADMIN_RATE_LIMIT_PER_MINUTE=0 turns the limit off', async (t) => {
  const { app } = await buildTestApp(t, { env: { ADMIN_RATE_LIMIT_PER_MINUTE: '0' } });
  const admin = await adminSession(app);
  const replies = await Promise.all(
    Array.from({ length: 150 }, () =>
      app.inject({ method: 'GET', url: '/admin/users', headers: bearer(admin.accessToken) }),
    ),
  );
  t.ok(
    replies.every((r) => r.statusCode === 200),
    'with the limit off, 150 admin requests at once are all answered',
  );
});
