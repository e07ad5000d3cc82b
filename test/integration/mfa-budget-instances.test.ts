// The second step's failure budget under load and across instances: 50 wrong codes at once against one instance,
// and 50 split between two instances (two buildApp on one database, as a deployment runs them), never get more
// than the account's budget evaluated, and the lock then holds on both instances. The budget is one statement in
// the database (src/domain/mfa/second-step.ts), so no instance can count on its own.
import t from 'tap';
import { buildTestApp, expectError, ManualClock, PASSWORD, register } from '../helper.js';
import { PER_ACCOUNT } from '../../src/domain/mfa/failure-budget.js';
import { codeAt, firstStep, verify, withTotp } from '../mfa-fixture.js';

const REFUSED = ['mfa_code_invalid', 'mfa_locked', 'mfa_token_invalid'];

t.test('50 wrong codes at once on one instance: at most the budget is checked, then the lock', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const tokens: string[] = [];
  for (let i = 0; i < 10; i++) tokens.push(await firstStep(app, email, PASSWORD));
  const wrong = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      verify(app, { mfa_token: tokens[i % 10]!, factor_id: f.factorId, code: String(200000 + i) }),
    ),
  );
  const evaluated = wrong.filter((r) => r.json().code === 'mfa_code_invalid').length;
  t.ok(evaluated <= PER_ACCOUNT, `no more than ${PER_ACCOUNT} of 50 wrong codes were checked (${evaluated})`);
  t.ok(
    wrong.every((r) => REFUSED.includes(r.json().code)),
    'every other one was refused unchecked',
  );
  const right = await verify(app, {
    mfa_token: await firstStep(app, email, PASSWORD),
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  expectError(t, right, 'mfa_locked', 'the right code is refused while the account is locked');
});

t.test('two instances on one database share one budget: 50 wrong codes split between them', async (t) => {
  const clock = new ManualClock(new Date());
  const first = await buildTestApp(t, { clock });
  const second = await buildTestApp(t, { clock, db: first.db, keysDir: first.keysDir });
  const { email } = await register(first.app);
  const f = await withTotp(first.app, clock, email);
  const tokens: string[] = [];
  for (let i = 0; i < 10; i++) tokens.push(await firstStep(i % 2 ? second.app : first.app, email, PASSWORD));
  const wrong = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      verify(i % 2 ? second.app : first.app, {
        mfa_token: tokens[i % 10]!,
        factor_id: f.factorId,
        code: String(300000 + i),
      }),
    ),
  );
  const evaluated = wrong.filter((r) => r.json().code === 'mfa_code_invalid').length;
  t.ok(evaluated <= PER_ACCOUNT, `the two instances checked no more than ${PER_ACCOUNT} together (${evaluated})`);
  t.ok(
    wrong.every((r) => REFUSED.includes(r.json().code)),
    'every other one was refused unchecked',
  );
  t.equal(wrong.filter((r) => r.statusCode === 200).length, 0, 'none signed in');
  for (const [name, app] of [
    ['first', first.app],
    ['second', second.app],
  ] as const) {
    const right = await verify(app, {
      mfa_token: await firstStep(app, email, PASSWORD),
      factor_id: f.factorId,
      code: codeAt(f.secret, clock.now()),
    });
    expectError(t, right, 'mfa_locked', `the lock holds on the ${name} instance too`);
  }
});
