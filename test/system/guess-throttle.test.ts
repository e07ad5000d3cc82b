// One password guess at a time per (email, address): a burst of simultaneous guesses at an account whose
// lock just expired gets exactly one evaluated, on one instance and across instances sharing Redis, at
// POST /auth/login and at POST /auth/password; the memory and Redis stores answer a script of attempts alike.
import t, { type Test } from 'tap';
import { buildTestApp, createTestDatabase, ManualClock, PASSWORD, register, session, type TestApp } from '../helper.js';
import { startRedis } from '../redis-server.js';

const BURST = 50;
const WRONG = 'not the password at all';

/** What the argon2 verifications (real and dummy) on these apps did from now on. */
interface Verifications {
  count: number;
  /** The most that ran at the same time: one guess at a time means 1. */
  maxInFlight: number;
  /** Whether the first one verified (the right password). */
  firstMatched: boolean | undefined;
}

function countVerifications(...apps: TestApp[]): () => Verifications {
  const seen: Verifications = { count: 0, maxInFlight: 0, firstMatched: undefined };
  let inFlight = 0;
  for (const app of apps) {
    const { passwords } = app.services;
    const verify = passwords.verify.bind(passwords);
    passwords.verify = async (hash, password) => {
      seen.count++;
      seen.maxInFlight = Math.max(seen.maxInFlight, ++inFlight);
      try {
        const ok = await verify(hash, password);
        seen.firstMatched ??= ok;
        return ok;
      } finally {
        inFlight--;
      }
    };
  }
  return () => seen;
}

type Reply = Awaited<ReturnType<TestApp['inject']>>;

const loginWith = (app: TestApp, email: string, password: string): Promise<Reply> =>
  app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });

/** Six wrong passwords: the sixth locks the pair for 1 s; then the clock moves past the lock. */
async function lockAndExpire(clock: ManualClock, attempt: () => Promise<Reply>) {
  for (let i = 0; i < 6; i++) await attempt();
  const locked = await attempt();
  if (locked.statusCode !== 429) throw new Error(`expected a lock, got ${locked.statusCode}`);
  clock.advance(1);
}

function assertOneEvaluated(t: Test, replies: Reply[], seen: Verifications, rightIndex: number, okStatus: number) {
  t.equal(seen.maxInFlight, 1, `never two argon2 verifications at once in ${replies.length} simultaneous guesses`);
  // Which guess claims the slot first depends on when each request reaches it (a database read comes first on
  // some routes). A wrong one locks the pair: nothing else is evaluated. The right one ends the attack: the
  // success clears the pair, and later guesses are checked one at a time against what is now the password.
  if (seen.firstMatched === false) {
    t.equal(seen.count, 1, `one argon2 verification for ${replies.length} simultaneous guesses`);
    const answered = replies.filter((r) => r.statusCode !== 429);
    t.equal(answered.length, 1, 'exactly one guess got an answer other than 429');
  } else {
    t.equal(seen.firstMatched, true, 'a guess was evaluated');
    t.equal(replies[rightIndex]!.statusCode, okStatus, 'the right password, evaluated first, succeeded');
  }
  const answered = replies.map((r, i) => [i, r] as const).filter(([, r]) => r.statusCode !== 429);
  for (const r of replies.filter((r) => r.statusCode === 429)) {
    t.equal(r.json().code, 'too_many_requests', 'a throttled guess is refused as too_many_requests');
    t.ok(Number(r.headers['retry-after']) >= 1, 'with Retry-After');
  }
  const successes = answered.filter(([, r]) => r.statusCode === okStatus);
  t.ok(
    successes.every(([i]) => i === rightIndex),
    'the right password succeeded only if it was the guess evaluated',
  );
}

t.test('50 simultaneous logins after a lock expires: one is evaluated, the rest are throttled', async (t) => {
  const clock = new ManualClock();
  const { app } = await buildTestApp(t, { productionArgon2: true, clock });
  const { email } = await register(app);
  await lockAndExpire(clock, () => loginWith(app, email, WRONG));
  const evaluated = countVerifications(app);
  const rightIndex = 23;
  const replies = await Promise.all(
    Array.from({ length: BURST }, (_, i) => loginWith(app, email, i === rightIndex ? PASSWORD : WRONG)),
  );
  assertOneEvaluated(t, replies, evaluated(), rightIndex, 200);
});

t.test('the same burst split across two instances sharing Redis: one guess is evaluated', async (t) => {
  const redis = await startRedis(t);
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const clock = new ManualClock();
  const env = { REDIS_URL: redis.url };
  const { app: a } = await buildTestApp(t, { productionArgon2: true, db, env, clock });
  const { app: b } = await buildTestApp(t, { productionArgon2: true, db, env, clock });
  const { email } = await register(a);
  await lockAndExpire(clock, () => loginWith(b, email, WRONG));
  const evaluated = countVerifications(a, b);
  const rightIndex = 30;
  const replies = await Promise.all(
    Array.from({ length: BURST }, (_, i) => loginWith(i % 2 ? b : a, email, i === rightIndex ? PASSWORD : WRONG)),
  );
  assertOneEvaluated(t, replies, evaluated(), rightIndex, 200);
});

for (const store of ['memory', 'redis'] as const) {
  t.test(
    `50 simultaneous password changes after a lock expires (${store}): one current_password is evaluated`,
    async (t) => {
      const env: Record<string, string> = store === 'redis' ? { REDIS_URL: (await startRedis(t)).url } : {};
      const clock = new ManualClock();
      const { app } = await buildTestApp(t, { productionArgon2: true, clock, env });
      const { accessToken } = await session(app);
      const change = (current: string): Promise<Reply> =>
        app.inject({
          method: 'POST',
          url: '/auth/password',
          headers: { authorization: `Bearer ${accessToken}` },
          payload: { current_password: current, new_password: 'the attacker chose this one' },
        });
      await lockAndExpire(clock, () => change(WRONG));
      const evaluated = countVerifications(app);
      const rightIndex = 11;
      const replies = await Promise.all(
        Array.from({ length: BURST }, (_, i) => change(i === rightIndex ? PASSWORD : WRONG)),
      );
      assertOneEvaluated(t, replies, evaluated(), rightIndex, 204);
    },
  );
}

t.test('POST /auth/password has a per-address rate limit like login', async (t) => {
  const { app } = await buildTestApp(t, { productionArgon2: true, env: { RATE_LIMIT_PER_MINUTE: '3' } });
  const { accessToken } = await session(app);
  const change = (remoteAddress = '203.0.113.9') =>
    app.inject({
      method: 'POST',
      url: '/auth/password',
      remoteAddress,
      headers: { authorization: `Bearer ${accessToken}` },
      payload: { current_password: WRONG, new_password: 'whatever it is now' },
    });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await change()).statusCode);
  t.same(statuses, [403, 403, 403, 429], 'the fourth attempt in a minute is refused before any hashing');
  t.equal((await change('198.51.100.4')).statusCode, 403, 'another address has its own budget');
});

// A script of attempts and what each step must answer. Bursts are simultaneous; their statuses are sorted.
type Step =
  | { send: 'right' | 'wrong'; expect: number; retryAfter?: string }
  | { burst: number; expect: number[] }
  | { advance: number };

const SCRIPT: Step[] = [
  ...Array.from({ length: 5 }, (): Step => ({ send: 'wrong', expect: 401 })), // free failures
  { send: 'wrong', expect: 401 }, // the sixth locks for 1 s
  { send: 'right', expect: 429, retryAfter: '1' },
  { advance: 1 },
  { burst: 10, expect: [401, ...Array(9).fill(429)] }, // one evaluated, locks for 2 s
  { send: 'right', expect: 429, retryAfter: '2' },
  { advance: 1 },
  { send: 'wrong', expect: 429, retryAfter: '1' },
  { advance: 1 },
  { send: 'right', expect: 200 },
  {
    burst: 6,
    expect: Array(6)
      .fill(401)
      .map((s, i) => (i === 0 ? s : 429)),
  }, // cleared: one evaluated at a time
  { send: 'wrong', expect: 401 },
];

async function runScript(t: Test, env: Record<string, string>) {
  const clock = new ManualClock();
  const { app } = await buildTestApp(t, { productionArgon2: true, clock, env });
  const { email } = await register(app);
  const answers: unknown[] = [];
  for (const step of SCRIPT) {
    if ('advance' in step) clock.advance(step.advance);
    else if ('burst' in step) {
      const replies = await Promise.all(Array.from({ length: step.burst }, () => loginWith(app, email, WRONG)));
      answers.push(replies.map((r) => r.statusCode).sort());
    } else {
      const res = await loginWith(app, email, step.send === 'right' ? PASSWORD : WRONG);
      answers.push(step.retryAfter === undefined ? res.statusCode : [res.statusCode, res.headers['retry-after']]);
    }
  }
  return answers;
}

t.test('the memory and Redis stores answer the same script of attempts the same way', async (t) => {
  const expected = SCRIPT.flatMap((s) => {
    if ('advance' in s) return [];
    if ('burst' in s) return [[...s.expect].sort()];
    return [s.retryAfter === undefined ? s.expect : [s.expect, s.retryAfter]];
  });
  const memory = await runScript(t, {});
  const redis = await runScript(t, { REDIS_URL: (await startRedis(t)).url });
  t.same(memory, expected, 'memory store');
  t.same(redis, expected, 'Redis store');
});
