// A password change writes the new hash only over the password it checked, from a session still live, in one
// statement (src/domain/accounts/accounts.ts changePassword). The race it closes: an intruder who knows the
// password starts a change; while it hashes the new password (hundreds of milliseconds at production cost),
// the owner takes the account back (another change, a reset, a reclaim of the address: each changes the hash
// and ends every other session). The intruder's change must then write nothing: before, it wrote its own
// password back over the owner's. The hasher is held so the interleaving is certain, not left to the
// scheduler. Runs on PGlite and PostgreSQL.
import t from 'tap';
import { buildTestApp, expectError, login, PASSWORD, register } from '../helper.js';
import { bearer } from '../authz-fixtures.js';

const INTRUDER = 'the intruder chose this passphrase';
const OWNER = 'the owner took the account back';

t.test('a change that committed while another was hashing wins; the other writes nothing and is refused', async (t) => {
  const { app } = await buildTestApp(t);
  const { email } = await register(app);
  const intruder = await login(app, email);
  const owner = await login(app, email);

  // The first hash (the intruder's new password) waits until the owner's change has been answered.
  const hasher = app.services.passwords;
  const hash = hasher.hash.bind(hasher);
  let inHash!: () => void;
  const hashing = new Promise<void>((resolve) => {
    inHash = resolve;
  });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let calls = 0;
  hasher.hash = async (password) => {
    if (++calls === 1) {
      inHash();
      await released;
    }
    return hash(password);
  };
  t.teardown(() => Reflect.deleteProperty(hasher, 'hash'));

  const change = (accessToken: string, next: string, remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      remoteAddress,
      payload: { current_password: PASSWORD, new_password: next },
    });
  const intruding = change(intruder.accessToken, INTRUDER, '203.0.113.7');
  await hashing;
  const taken = await change(owner.accessToken, OWNER, '198.51.100.2');
  t.equal(taken.statusCode, 204, "the owner's change commits while the intruder's is still hashing");
  release();
  const late = await intruding;
  expectError(t, late, 'session_revoked', "the intruder's change, whose session the owner's ended, is refused");

  const tryLogin = (password: string) =>
    app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
  t.equal((await tryLogin(INTRUDER)).statusCode, 401, "the intruder's password was never written");
  t.equal((await tryLogin(OWNER)).statusCode, 200, "the owner's password is the account's");
});
