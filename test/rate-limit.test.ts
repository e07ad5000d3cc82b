// Per-address rate limits on register, login and refresh.
import t from 'tap';
import { buildTestApp, register } from './helper.js';

t.test('login: the limit+1th request in a minute is a 429 with Retry-After; other routes keep their own budget', async (t) => {
  const { app, logs } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '3' }, captureLogs: true });
  const { email, password } = await register(app);
  const statuses: number[] = [];
  let last;
  for (let i = 0; i < 4; i++) {
    last = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: i === 0 ? password : 'wrong password' } });
    statuses.push(last.statusCode);
  }
  t.same(statuses, [200, 401, 401, 429]);
  t.equal(last!.json().code, 'too_many_requests');
  t.ok(Number(last!.headers['retry-after']) > 0, 'Retry-After in seconds');
  t.ok(logs.some((l) => l.event === 'rate_limited' && l.route === '/auth/login'), 'logged');
  const other = await app.inject({ method: 'POST', url: '/auth/register', payload: { email: 'x@example.com', password: '12345678' } });
  t.equal(other.statusCode, 201, 'register has its own budget');
  const fromElsewhere = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, remoteAddress: '198.51.100.9' });
  t.equal(fromElsewhere.statusCode, 200, 'another address is not limited');
});

t.test('refresh is limited too, and RATE_LIMIT_PER_MINUTE=0 turns limits off', async (t) => {
  const { app } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '2' } });
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await app.inject({ method: 'POST', url: '/auth/refresh' })).statusCode);
  t.same(codes, [401, 401, 429]);
  const { app: open } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '0' } });
  const many = await Promise.all(Array.from({ length: 30 }, () => open.inject({ method: 'POST', url: '/auth/refresh' })));
  t.notOk(many.some((r) => r.statusCode === 429));
});
