// When the hashing parameters change, a login re-hashes the password it holds with the new ones
// (src/domain/accounts/accounts.ts), and its session's start then checks that the stored hash is still the one it
// matched or wrote (session-lifecycle.ts). Logins at the same instant all read the old hash and all re-hash; one
// write wins. The others find the same password hashed again, not a new password, and must still sign in; a
// login that finds a real password change (another password's hash) is still refused. Runs on PGlite and
// PostgreSQL.
import t from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp, expectError, login, PASSWORD, register } from '../helper.js';
import { bearer } from '../authz-fixtures.js';

const LOGINS = 50;

t.test(
  '50 logins at once right after the hashing parameters changed all sign in, and the hash is upgraded',
  async (t) => {
    // Registered at the tests' cheap cost, then served by an app at OWASP's minimum: every login finds an old hash.
    const { app, db, keysDir } = await buildTestApp(t);
    const { email, user } = await register(app);
    const { app: stronger } = await buildTestApp(t, { db, keysDir, productionArgon2: true });
    const answers = await Promise.all(
      Array.from({ length: LOGINS }, (_, i) =>
        stronger.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { email, password: PASSWORD },
          remoteAddress: `10.30.0.${i + 1}`,
        }),
      ),
    );
    t.same(
      answers.map((r) => r.statusCode),
      Array(LOGINS).fill(200),
      'every login with the right password signs in, whichever login upgraded the hash',
    );
    const prisma = db.database.prisma;
    t.equal(await prisma.session.count({ where: { userId: user.id } }), LOGINS, 'each started its session');
    const stored = (await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash!;
    t.match(stored, /m=19456,p=1,t=2/, 'the stored hash has the new parameters');
    t.ok(await login(stronger, email), 'and the password still signs in');
  },
);

t.test('a login whose upgrade finds a changed password is refused, and starts no session', async (t) => {
  const { app, db, keysDir } = await buildTestApp(t);
  const { email, user } = await register(app);
  const own = await login(app, email);
  const { app: stronger } = await buildTestApp(t, { db, keysDir, productionArgon2: true });
  // The owner changes the password (on the first instance) while the login re-hashes the old one.
  const hasher = stronger.services.passwords;
  const hash = hasher.hash.bind(hasher);
  let change: Awaited<ReturnType<typeof app.inject>> | undefined;
  hasher.hash = async (password) => {
    change ??= await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(own.accessToken),
      payload: { current_password: PASSWORD, new_password: 'a new and different passphrase' },
    });
    return hash(password);
  };
  t.teardown(() => Reflect.deleteProperty(hasher, 'hash'));
  const res = await stronger.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  t.equal(change?.statusCode, 204, 'the password changed during the login');
  expectError(t, res, 'invalid_credentials', 'the old password is refused');
  t.same(
    await db.database.prisma.session.findMany({
      where: { userId: user.id, id: { not: decodeJwt(own.accessToken).sid as string } },
      select: { id: true },
    }),
    [],
    'the login started no session (the owner’s, which made the change, is the only one)',
  );
  t.ok(await login(stronger, email, 'a new and different passphrase'), 'the new password signs in');
});
