// Timing is a security property: a failed login must not reveal whether the email has an account.
// An unknown email and a wrong password must get the same answer (status, code, body, headers) and
// take the same time, because both pay one argon2id verification (against a dummy hash when there is
// no user). Default argon2 parameters on purpose: the dummy must cost what a real hash costs.
import t from 'tap';
import { buildTestApp, register, uniqueEmail, type TestApp } from '../helper.js';
import { OWASP_MIN_PARAMS } from '../../src/domain/accounts/passwords.js';
import { comparePairs, median, relativeGap } from '../timing.js';

const WARMUP = 2; // per side, discarded
const SAMPLES = 40; // pairs per round, measured back to back (test/timing.ts)
const MAX_RELATIVE_GAP = 0.2;
const WRONG_PASSWORD = 'not the right password';

// The failed-login throttle (src/domain/accounts/login-throttle.ts) counts failures per (email, client address)
// and answers 429 before any hashing from the 6th failure on. Repeating one wrong password from one
// address would therefore measure the throttle, not the password check. Every request here comes from
// its own address, on both sides alike (and the unknown side uses a new email each time as well), so no
// (email, address) pair ever fails twice: the throttle stays out of the way without being switched off
// or weakened, and every request takes the full path through argon2.
let addresses = 0;
function nextAddress(): string {
  addresses++;
  return `10.${(addresses >> 16) & 255}.${(addresses >> 8) & 255}.${addresses & 255}`;
}

type Reply = Awaited<ReturnType<TestApp['inject']>>;

async function timedLogin(app: TestApp, email: string): Promise<{ res: Reply; ms: number }> {
  const payload = { email, password: WRONG_PASSWORD };
  const remoteAddress = nextAddress();
  const start = process.hrtime.bigint();
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload, remoteAddress });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { res, ms };
}

/** What a client can see of a reply, minus what differs per request by design (request id, date). */
function visible(res: Reply) {
  const { request_id: requestId, ...body } = res.json() as Record<string, unknown>;
  const headers = Object.fromEntries(
    Object.entries(res.headers).filter(([name]) => name !== 'x-request-id' && name !== 'date'),
  );
  return { status: res.statusCode, body, headers, requestIdIsString: typeof requestId === 'string' };
}

t.test('unknown email and wrong password: same answer, same time', async (t) => {
  const { app, config, db } = await buildTestApp(t, { productionArgon2: true });
  t.same(config.argon2, OWASP_MIN_PARAMS, 'default argon2 parameters');
  const known = await register(app);

  const unknownSide = () => timedLogin(app, uniqueEmail()); // (a)
  const wrongPasswordSide = () => timedLogin(app, known.email); // (b)

  const { a, b, ratio, rounds } = await comparePairs(unknownSide, wrongPasswordSide, {
    warmup: WARMUP,
    samples: SAMPLES,
    maxGap: MAX_RELATIVE_GAP,
  });

  const reference = visible(a[0]!.res);
  t.equal(reference.status, 401, 'a failed login answers 401');
  t.equal(reference.body.code, 'invalid_credentials', 'a failed login answers invalid_credentials');
  t.equal(reference.headers['set-cookie'], undefined, 'no cookie on a failed login');
  const differing = [...a, ...b].filter(({ res }) => JSON.stringify(visible(res)) !== JSON.stringify(reference));
  t.equal(differing.length, 0, 'every reply on both sides is identical but for its request id and date');
  if (differing.length) t.same(visible(differing[0]!.res), reference, 'first differing reply');

  // The throttle really was kept out: one failure per (email, address), all recorded as failures.
  const failures = await db.database.prisma.auditEvent.findMany({
    where: { type: 'login_failed' },
    select: { ip: true, reason: true },
  });
  t.equal(failures.length, 2 * (WARMUP + a.length), 'every attempt reached the password check');
  t.equal(new Set(failures.map((f) => f.ip)).size, failures.length, 'each from its own address');
  t.equal(
    failures.filter((f) => f.reason === 'unknown_user').length,
    WARMUP + a.length,
    'every unknown-email attempt was checked as an unknown user',
  );
  t.equal(
    failures.filter((f) => f.reason === 'wrong_password').length,
    WARMUP + b.length,
    'every wrong-password attempt was checked as a wrong password',
  );

  const ma = median(a.map((s) => s.ms));
  const mb = median(b.map((s) => s.ms));
  t.comment(
    `median login time over ${a.length} each (${rounds} rounds): unknown email ${ma.toFixed(2)} ms, wrong password ${mb.toFixed(2)} ms`,
  );
  const gap = relativeGap(ratio);
  t.ok(
    gap < MAX_RELATIVE_GAP,
    `unknown-email/wrong-password time, the median over back-to-back pairs, within ${MAX_RELATIVE_GAP * 100} % of 1 (gap ${(gap * 100).toFixed(1)} %)`,
  );
});
