// The second step's failure budget, through HTTP: 5 wrong codes end an mfa_token; one budget per account across
// every challenge and factor, 10 wrong in a row lock second-factor sign-in for 15 minutes (429 with
// Retry-After), a new password sign-in does not reset it, and 30 wrong codes sent at once never get more than
// the budget evaluated. The lock is audited and emailed to the owner.
import t from 'tap';
import { buildTestApp, expectError, ManualClock, PASSWORD, register } from '../helper.js';
import { mailEnv, startSmtp } from '../mail-smtp.js';
import { LOCK_SECONDS, PER_ACCOUNT } from '../../src/domain/mfa/failure-budget.js';
import { codeAt, firstStep, verify, withTotp } from '../mfa-fixture.js';

t.test('five wrong codes end an mfa_token; the sixth try is refused even with the right code', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const mfa_token = await firstStep(app, email, PASSWORD);
  for (let i = 0; i < 5; i++)
    expectError(t, await verify(app, { mfa_token, factor_id: f.factorId, code: '000000' }), 'mfa_code_invalid');
  const sixth = await verify(app, { mfa_token, factor_id: f.factorId, code: codeAt(f.secret, clock.now()) });
  expectError(t, sixth, 'mfa_token_invalid', 'the challenge is spent after five failures');
});

t.test(
  '30 wrong codes at once over three challenges: at most the account budget is evaluated, then a lock',
  async (t) => {
    const smtp = await startSmtp(t);
    const clock = new ManualClock(new Date());
    const { app, db } = await buildTestApp(t, { clock, env: mailEnv(smtp) });
    const { email, user } = await register(app);
    const f = await withTotp(app, clock, email);
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) tokens.push(await firstStep(app, email, PASSWORD));
    const wrong = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        verify(app, { mfa_token: tokens[i % 3]!, factor_id: f.factorId, code: String(100000 + i) }),
      ),
    );
    const evaluated = wrong.filter((r) => r.json().code === 'mfa_code_invalid').length;
    t.ok(evaluated <= PER_ACCOUNT, `no more than ${PER_ACCOUNT} wrong codes were checked (${evaluated})`);
    t.ok(
      wrong.every((r) => ['mfa_code_invalid', 'mfa_locked', 'mfa_token_invalid'].includes(r.json().code)),
      'every other attempt was refused unchecked: the lock or a spent challenge',
    );
    t.equal(wrong.filter((r) => r.statusCode === 200).length, 0, 'none signed in');
    const afterPassword = await firstStep(app, email, PASSWORD);
    const locked = await verify(app, {
      mfa_token: afterPassword,
      factor_id: f.factorId,
      code: codeAt(f.secret, clock.now()),
    });
    expectError(t, locked, 'mfa_locked', 'the right code after the budget, even after a new password sign-in');
    const retryAfter = Number(locked.headers['retry-after']);
    t.ok(retryAfter > 0 && retryAfter <= LOCK_SECONDS, `Retry-After says how long the lock lasts (${retryAfter}s)`);
    t.equal(
      await db.database.prisma.auditEvent.count({ where: { type: 'mfa_locked', userId: user.id } }),
      1,
      'the lock is audited once',
    );
    t.equal(
      await db.database.prisma.mailMessage.count({ where: { kind: 'mfa_locked', recipient: email } }),
      1,
      'and the owner is emailed once',
    );
    clock.advance(LOCK_SECONDS + 1);
    const later = await verify(app, {
      mfa_token: await firstStep(app, email, PASSWORD),
      factor_id: f.factorId,
      code: codeAt(f.secret, clock.now()),
    });
    t.equal(later.statusCode, 200, 'after the lock, the right code signs in');
  },
);

t.test('a success clears the count: failures are counted in a row', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  for (let round = 0; round < 3; round++) {
    const mfa_token = await firstStep(app, email, PASSWORD);
    for (let i = 0; i < 4; i++) await verify(app, { mfa_token, factor_id: f.factorId, code: '000000' });
    const ok = await verify(app, { mfa_token, factor_id: f.factorId, code: codeAt(f.secret, clock.now()) });
    t.equal(ok.statusCode, 200, `round ${round + 1}: four wrong codes then the right one signs in`);
    clock.advance(30);
  }
});
