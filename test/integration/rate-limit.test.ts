// Per-address rate limits on register, login and refresh.
import t from 'tap';
import { buildTestApp, register } from '../helper.js';

t.test(
  'login: the limit+1th request in a minute is a 429 with Retry-After; other routes keep their own budget',
  async (t) => {
    const { app, logs, db } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '3' }, captureLogs: true });
    const { email, password } = await register(app);
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof app.inject>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password: i === 0 ? password : 'wrong password' },
      });
      statuses.push(last.statusCode);
    }
    t.same(
      statuses,
      [200, 401, 401, 429, 429, 429],
      'with a limit of 3, the fourth login in the minute and after get 429',
    );
    t.equal(last!.json().code, 'too_many_requests', 'the refused login answers too_many_requests');
    t.ok(Number(last!.headers['retry-after']) > 0, 'Retry-After in seconds');
    t.equal(
      logs.filter((l) => l.event === 'rate_limited' && l.route === '/auth/login').length,
      3,
      'every refusal is logged',
    );
    // The audit row is written after the answer: wait for it rather than race it.
    let rows: { type: string; reason: string | null; ip: string | null; requestId: string | null }[] = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = await db.database.prisma.auditEvent.findMany({ where: { type: 'rate_limited' } });
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    t.equal(rows.length, 1, 'one audit row per address and route per window, not one per refused request');
    t.match(
      rows[0],
      { reason: '/auth/login', ip: '127.0.0.1', requestId: String },
      'the rate_limited audit row names the route, the address and the request',
    );
    const other = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: 'x@example.com', password: 'q8w!e5r7' },
    });
    t.equal(other.statusCode, 201, 'register has its own budget');
    const fromElsewhere = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
      remoteAddress: '198.51.100.9',
    });
    t.equal(fromElsewhere.statusCode, 200, 'another address is not limited');
  },
);

t.test('refresh is limited too, and RATE_LIMIT_PER_MINUTE=0 turns limits off', async (t) => {
  const { app } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '2' } });
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await app.inject({ method: 'POST', url: '/auth/refresh' })).statusCode);
  t.same(codes, [401, 401, 429], 'with a limit of 2, the third refresh gets 429');
  const { app: open } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '0' } });
  const many = await Promise.all(
    Array.from({ length: 30 }, () => open.inject({ method: 'POST', url: '/auth/refresh' })),
  );
  t.notOk(
    many.some((r) => r.statusCode === 429),
    'with RATE_LIMIT_PER_MINUTE=0, 30 refreshes at once are never limited',
  );
});

t.test('failed logins per account: progressive delay keyed by email and address', async (t) => {
  const { app, clock, db } = await buildTestApp(t);
  const { email, password } = await register(app);
  const attempt = (pw: string, remoteAddress = '127.0.0.1', who = email) =>
    app.inject({ method: 'POST', url: '/auth/login', payload: { email: who, password: pw }, remoteAddress });

  for (let i = 0; i < 5; i++) t.equal((await attempt('wrong password')).statusCode, 401, `free failure ${i + 1}`);
  t.equal((await attempt('wrong password')).statusCode, 401, 'the sixth failure is answered, and starts a lock');
  const locked = await attempt(password);
  t.equal(locked.statusCode, 429, 'even the right password waits: the lock reveals nothing');
  t.equal(locked.json().code, 'too_many_requests', 'the locked login answers too_many_requests');
  t.equal(locked.headers['retry-after'], '1', 'the first lock lasts one second');

  t.equal(
    (await attempt(password, '198.51.100.20')).statusCode,
    200,
    'the victim on another address is not locked out',
  );

  clock.advance(1);
  t.equal(
    (await attempt('wrong password')).statusCode,
    401,
    'once the lock is over, a wrong password is answered again',
  );
  const longer = await attempt('wrong password');
  t.equal(longer.statusCode, 429, 'the next failure locks again');
  t.equal(longer.headers['retry-after'], '2', 'each failure past the free ones doubles the wait');
  clock.advance(2);
  t.equal((await attempt(password)).statusCode, 200, 'a success after the wait clears the counter');
  t.equal(
    (await attempt('wrong password')).statusCode,
    401,
    'after the success, a wrong password is answered without a lock',
  );

  // Same policy for an email with no account: no enumeration through the lock.
  const ghost = 'nobody-here@example.com';
  for (let i = 0; i < 6; i++) await attempt('wrong password', '127.0.0.1', ghost);
  const ghostLocked = await attempt('wrong password', '127.0.0.1', ghost);
  t.equal(ghostLocked.statusCode, 429, 'an email with no account is locked after as many failures');
  t.ok((await db.database.prisma.auditEvent.count({ where: { type: 'login_throttled' } })) >= 3, 'audited');
});

t.test('one IPv6 /64 is one address: 50 logins at once from 50 of its addresses share one budget', async (t) => {
  const { app } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '5' } });
  const { email, password } = await register(app);
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      app.inject({
        method: 'POST',
        url: '/auth/login',
        // A different account each time, so that only the per-address limit can refuse (not the per-account lock).
        payload: { email: `guess-${i}@example.com`, password: 'wrong password' },
        remoteAddress: `2001:db8:0:1::${(i + 1).toString(16)}`,
      }),
    ),
  );
  const limited = answers.filter((r) => r.statusCode === 429).length;
  t.equal(limited, 45, 'an attacker rotating addresses inside one /64 gets the budget of one address (5), not 50');
  const neighbour = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password },
    remoteAddress: '2001:db8:0:2::1',
  });
  t.equal(neighbour.statusCode, 200, 'the next /64 (another subscriber) keeps its own budget');
});

t.test('failed-login locks count an IPv6 attacker by /64, and spare the victim on another network', async (t) => {
  const { app } = await buildTestApp(t);
  const { email, password } = await register(app);
  const attempt = (pw: string, remoteAddress: string) =>
    app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: pw }, remoteAddress });
  for (let i = 0; i < 6; i++) await attempt('wrong password', `2001:db8:0:1::${i + 1}`);
  const rotated = await attempt(password, '2001:db8:0:1::99');
  t.equal(rotated.statusCode, 429, 'a fresh address inside the same /64 is still locked: rotating buys nothing');
  t.equal(rotated.json().code, 'too_many_requests', 'the locked login answers too_many_requests');
  t.equal((await attempt(password, '2001:db8:0:2::1')).statusCode, 200, 'the victim on another /64 signs in');
});
