// Forgot-password must not reveal whether an address has an account: a known and an unknown address get the
// same status and body, and take the same time, because both write a token and a message (the unknown one
// in a transaction that is rolled back). One of the two timed comparisons the project allows, with
// login-timing.test.ts. The worker is kept idle (a long poll interval) so delivery does not load one side.
import t from 'tap';
import { buildTestApp, register, uniqueEmail, type TestApp } from '../helper.js';
import { mailEnv, startSmtp } from '../mail-smtp.js';
import { comparePairs, median, relativeGap } from '../timing.js';

const WARMUP = 5;
const SAMPLES = 40;
const MAX_RELATIVE_GAP = 0.2;

type Reply = Awaited<ReturnType<TestApp['inject']>>;

async function timedForgot(app: TestApp, email: string): Promise<{ res: Reply; ms: number }> {
  const start = process.hrtime.bigint();
  const res = await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
  return { res, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

function visible(res: Reply) {
  const headers = Object.fromEntries(
    Object.entries(res.headers).filter(([name]) => name !== 'x-request-id' && name !== 'date'),
  );
  return { status: res.statusCode, body: res.body, headers };
}

t.test('forgot-password: a known and an unknown address get the same answer in the same time', async (t) => {
  const smtp = await startSmtp(t);
  const { app, db } = await buildTestApp(t, {
    env: mailEnv(smtp, { MAIL_POLL_INTERVAL_MS: '60000', MAIL_PER_EMAIL_PER_HOUR: '0' }),
  });
  const known = await register(app);
  const unknownSide = () => timedForgot(app, uniqueEmail());
  const knownSide = () => timedForgot(app, known.email);
  const { a, b, ratio, rounds } = await comparePairs(unknownSide, knownSide, {
    warmup: WARMUP,
    samples: SAMPLES,
    maxGap: MAX_RELATIVE_GAP,
  });
  const reference = visible(a[0]!.res);
  t.equal(reference.status, 202, 'forgot-password answers 202 for an unknown address');
  const differing = [...a, ...b].filter(({ res }) => JSON.stringify(visible(res)) !== JSON.stringify(reference));
  t.equal(differing.length, 0, 'every reply on both sides is identical but for its request id and date');
  t.equal(
    await db.database.prisma.mailMessage.count({ where: { kind: 'password_reset' } }),
    WARMUP + b.length,
    'only the known side wrote messages',
  );

  const ma = median(a.map((s) => s.ms));
  const mb = median(b.map((s) => s.ms));
  t.comment(
    `median forgot-password time over ${a.length} each (${rounds} rounds): unknown ${ma.toFixed(2)} ms, known ${mb.toFixed(2)} ms`,
  );
  // Compared pair by pair, back to back, in alternating order (test/timing.ts): a request takes about 7 ms, so a
  // burst of load from elsewhere shifts one side's median on its own, but shifts both requests of a pair alike.
  const gap = relativeGap(ratio);
  t.ok(
    gap < MAX_RELATIVE_GAP,
    `unknown/known time, the median over pairs, within ${MAX_RELATIVE_GAP * 100} % of 1 (${ratio.toFixed(3)})`,
  );
});
