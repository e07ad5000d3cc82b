// A password change writes the new hash only over the password it checked, from a session still live, in one
// statement (src/domain/accounts/accounts.ts changePassword). The race it closes: an intruder who knows the
// password starts a change; while it hashes the new password (hundreds of milliseconds at production cost),
// the owner takes the account back (another change, a reset, a reclaim of the address: each changes the hash
// and ends every other session). The intruder's change must then write nothing: before, it wrote its own
// password back over the owner's. A hash that changed without the password changing (a login re-hashing it with
// new argon2 parameters) is checked again, and the change goes on. The hasher is held so the interleaving is
// certain, not left to the scheduler. Runs on PGlite and PostgreSQL.
import t from 'tap';
import { buildTestApp, expectError, login, PASSWORD, register } from '../helper.js';
import { bearer } from '../authz-fixtures.js';
import { holdNext } from '../held-hasher.js';

const INTRUDER = 'the intruder chose this passphrase';
const OWNER = 'the owner took the account back';

t.test('a change that committed while another was hashing wins; the other writes nothing and is refused', async (t) => {
  const { app } = await buildTestApp(t);
  const { email } = await register(app);
  const intruder = await login(app, email);
  const owner = await login(app, email);

  const change = (accessToken: string, next: string, remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      remoteAddress,
      payload: { current_password: PASSWORD, new_password: next },
    });
  // The first hash (the intruder's new password) waits until the owner's change has been answered.
  const held = holdNext(t, app, 'hash');
  const intruding = change(intruder.accessToken, INTRUDER, '203.0.113.7');
  await held.reached;
  const taken = await change(owner.accessToken, OWNER, '198.51.100.2');
  t.equal(taken.statusCode, 204, "the owner's change commits while the intruder's is still hashing");
  held.release();
  const late = await intruding;
  expectError(t, late, 'session_revoked', "the intruder's change, whose session the owner's ended, is refused");

  const tryLogin = (password: string) =>
    app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
  t.equal((await tryLogin(INTRUDER)).statusCode, 401, "the intruder's password was never written");
  t.equal((await tryLogin(OWNER)).statusCode, 200, "the owner's password is the account's");
});

t.test(
  'the same password re-hashed meanwhile is checked again and the change goes on; another one refuses it',
  async (t) => {
    const { app } = await buildTestApp(t);
    const { email, user } = await register(app);
    const own = await login(app, email);
    const prisma = app.services.database.prisma;
    const hasher = app.services.passwords;
    const change = (current: string, next: string) =>
      app.inject({
        method: 'POST',
        url: '/auth/password',
        headers: bearer(own.accessToken),
        payload: { current_password: current, new_password: next },
      });

    const first = holdNext(t, app, 'hash');
    const changing = change(PASSWORD, INTRUDER);
    await first.reached;
    // What a login upgrading the hash to new parameters writes: another hash of the same password.
    await prisma.user.update({ where: { id: user.id }, data: { passwordHash: await hasher.hash(PASSWORD) } });
    first.release();
    t.equal((await changing).statusCode, 204, 'a re-hash of the same password does not stop the change');
    t.equal(
      (await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: INTRUDER } })).statusCode,
      200,
      "the new password is the account's",
    );
    first.restore();

    const second = holdNext(t, app, 'hash');
    const refused = change(INTRUDER, OWNER);
    await second.reached;
    await prisma.user.update({
      where: { id: user.id },
      data: { passwordHash: await hasher.hash('yet another passphrase here') },
    });
    second.release();
    expectError(
      t,
      await refused,
      'current_password_incorrect',
      'a hash of another password meanwhile refuses the change',
    );
  },
);
