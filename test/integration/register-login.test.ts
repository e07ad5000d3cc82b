// Registration and login through HTTP, on a real database.
import t from 'tap';
import { PASSWORD, buildTestApp, login, register, uniqueEmail, expectError } from '../helper.js';

t.test('register', async (t) => {
  const { app, db } = await buildTestApp(t, { productionArgon2: true });

  t.test('creates a user with a normalised email and answers 201 with public fields only', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: '  Alice.Smith@Example.COM ', password: PASSWORD },
    });
    t.equal(res.statusCode, 201, 'the registration is accepted with 201');
    const body = res.json();
    t.same(Object.keys(body), ['user'], 'the response holds only the user');
    t.same(
      Object.keys(body.user).sort(),
      ['created_at', 'email', 'id'],
      'only the public user fields are returned, never the hash',
    );
    t.equal(body.user.email, 'alice.smith@example.com', 'the email is stored trimmed and lower-cased');
    t.match(body.user.id, /^[0-9a-f-]{36}$/, 'the user id is a UUID');
    t.ok(!Number.isNaN(Date.parse(body.user.created_at)), 'created_at is a parseable date');
    t.equal(res.headers['cache-control'], 'no-store', 'the registration response is not cached');
    const row = await db.database.prisma.user.findUniqueOrThrow({ where: { email: 'alice.smith@example.com' } });
    t.match(row.passwordHash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/, 'argon2id with OWASP minimum parameters');
    t.notOk(row.passwordHash!.includes(PASSWORD), 'the stored hash does not contain the password');
    const events = await db.database.prisma.auditEvent.findMany({ where: { userId: row.id } });
    t.same(
      events.map((e) => e.type),
      ['register'],
      'the registration is audited',
    );
  });

  t.test('refuses a duplicate email, whatever its case, with 409 email_taken', async (t) => {
    const email = uniqueEmail();
    await register(app, email);
    const res = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: email.toUpperCase(), password: 'another password' },
    });
    expectError(t, res, 'email_taken');
    t.equal(
      await db.database.prisma.user.count({ where: { email } }),
      1,
      'the duplicate registration created no second user',
    );
  });

  t.test('refuses invalid emails with 400 invalid_email', async (t) => {
    for (const email of [
      'not-an-email',
      'a@b',
      'two@@example.com',
      'sp ace@example.com',
      'nul\u0000@example.com',
      `${'x'.repeat(65)}@example.com`,
      '@example.com',
    ]) {
      const res = await app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: PASSWORD } });
      expectError(t, res, 'invalid_email', JSON.stringify(email));
    }
  });

  t.test('passwords: 8 to 256 characters, no composition rules', async (t) => {
    const cases: [string, number, string?][] = [
      ['short12', 400, 'invalid_password'],
      ['q8w!e5r7', 201],
      ['🔑🔒🔓🔐🗝🔑🔒🔓', 201], // eight characters, sixteen UTF-16 units
      ['xy'.repeat(128), 201],
      ['x'.repeat(257), 400, 'invalid_password'],
      ['x'.repeat(2000), 400, 'invalid_request'], // refused by the schema before any hashing
    ];
    for (const [password, status, code] of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email: uniqueEmail(), password },
      });
      t.equal(res.statusCode, status, `${[...password].length} characters`);
      if (code) t.equal(res.json().code, code, `${[...password].length} characters: refused with ${code}`);
    }
  });

  t.test('bad bodies get 4xx with a code, never 500, and write nothing', async (t) => {
    const before = await db.database.prisma.user.count();
    const cases: { payload?: string; headers?: Record<string, string>; status: number; code: string }[] = [
      {
        payload: '{"email": "a@example.com", "password": ',
        headers: { 'content-type': 'application/json' },
        status: 400,
        code: 'malformed_json',
      },
      {
        payload: 'email=a@example.com&password=12345678',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        status: 415,
        code: 'unsupported_media_type',
      },
      { payload: 'hello', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
      {
        payload: JSON.stringify({ email: uniqueEmail(), password: PASSWORD, admin: true }),
        headers: { 'content-type': 'application/json' },
        status: 400,
        code: 'invalid_request',
      },
      {
        payload: JSON.stringify({ email: uniqueEmail() }),
        headers: { 'content-type': 'application/json' },
        status: 400,
        code: 'invalid_request',
      },
      {
        payload: JSON.stringify({ email: 42, password: 12345678 }),
        headers: { 'content-type': 'application/json' },
        status: 400,
        code: 'invalid_request',
      },
      {
        payload: JSON.stringify([1, 2]),
        headers: { 'content-type': 'application/json' },
        status: 400,
        code: 'invalid_request',
      },
      {
        payload: '{"__proto__": {"admin": true}, "email": "p@example.com", "password": "12345678"}',
        headers: { 'content-type': 'application/json' },
        status: 400,
        code: 'malformed_json',
      },
      {
        payload: JSON.stringify({ email: uniqueEmail(), password: 'x'.repeat(1024 * 1024) }),
        headers: { 'content-type': 'application/json' },
        status: 413,
        code: 'payload_too_large',
      },
      { headers: { 'content-type': 'application/json' }, status: 400, code: 'invalid_request' },
    ];
    for (const c of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/auth/register',
        ...(c.payload !== undefined ? { payload: c.payload } : {}),
        headers: c.headers ?? {},
      });
      t.equal(res.statusCode, c.status, `${c.code}: ${(c.payload ?? '').slice(0, 40)}`);
      const body = res.json();
      t.equal(body.code, c.code, `${c.code}: the error body carries the code`);
      t.type(body.message, 'string', `${c.code}: the error body has a human-readable message`);
      t.equal(body.status_code, c.status, `${c.code}: the error body repeats the status`);
      t.type(body.request_id, 'string', `${c.code}: the error body carries a request id`);
      t.equal(
        res.headers['x-request-id'],
        body.request_id,
        `${c.code}: the x-request-id header matches the body's request id`,
      );
    }
    t.equal(await db.database.prisma.user.count(), before, 'no user written');
  });

  t.test('unknown routes answer 404 not_found in the same shape', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/auth/nope' });
    expectError(t, res, 'not_found');
  });
});

t.test('login', async (t) => {
  const { app, db } = await buildTestApp(t);
  const { email, user } = await register(app);

  t.test('returns an access token and sets the refresh cookie', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: ` ${email.toUpperCase()}`, password: PASSWORD },
    });
    t.equal(res.statusCode, 200, 'the login is accepted');
    const body = res.json();
    t.same(
      Object.keys(body).sort(),
      ['access_token', 'expires_in', 'token_type'],
      'the login answers only the access token, its type and lifetime',
    );
    t.equal(body.token_type, 'Bearer', 'the token type is Bearer');
    t.equal(body.expires_in, 900, 'the access token lives 15 minutes');
    t.match(body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the access token is a compact JWT');
    t.equal(res.headers['cache-control'], 'no-store', 'the login response is not cached');
    t.equal(res.headers.pragma, 'no-cache', 'the login response is not cached by HTTP/1.0 caches either');
    const setCookie = String(res.headers['set-cookie']);
    // __Host- prefix (COOKIE_DOMAIN unset): browsers require Secure, Path=/ and no Domain.
    t.match(
      setCookie,
      /^__Host-tessera_refresh=[A-Za-z0-9_-]{82};/,
      'the refresh cookie is __Host- prefixed and holds an 82-character token',
    );
    t.match(setCookie, /; HttpOnly/, 'the refresh cookie is HttpOnly');
    t.match(setCookie, /; Secure/, 'the refresh cookie is Secure');
    t.match(setCookie, /; SameSite=Strict/, 'the refresh cookie is SameSite=Strict');
    t.match(setCookie, /; Path=\/(;|$)/, 'the refresh cookie is scoped to Path=/');
    t.notMatch(setCookie, /Domain=/i, 'the __Host- refresh cookie sets no Domain');
    t.match(setCookie, /Max-Age=604800/, 'the refresh cookie lasts seven days');
  });

  t.test('each login starts a new session', async (t) => {
    const a = await login(app, email);
    const b = await login(app, email);
    t.not(a.refresh, b.refresh, 'two logins get different refresh tokens');
    t.equal(
      (await db.database.prisma.session.count({ where: { userId: user.id } })) >= 2,
      true,
      'each login stored its own session',
    );
  });

  t.test('wrong password and unknown email: same status, same code, same message', async (t) => {
    const wrong = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: 'not the password' },
    });
    const unknown = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: uniqueEmail(), password: 'not the password' },
    });
    const invalidEmail = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'nobody', password: 'not the password' },
    });
    for (const res of [wrong, unknown, invalidEmail]) {
      expectError(t, res, 'invalid_credentials');
      t.equal(
        res.json().message,
        wrong.json().message,
        `${res === wrong ? 'wrong password' : res === unknown ? 'unknown email' : 'invalid email'}: same message`,
      );
      t.equal(
        res.headers['set-cookie'],
        undefined,
        `${res === wrong ? 'wrong password' : res === unknown ? 'unknown email' : 'invalid email'}: no cookie set`,
      );
    }
    const failures = await db.database.prisma.auditEvent.findMany({
      where: { type: 'login_failed' },
      orderBy: { id: 'asc' },
    });
    t.same(
      failures.map((f) => [f.userId, f.reason]),
      [
        [user.id, 'wrong_password'],
        [null, 'unknown_user'],
        [null, 'unknown_user'],
      ],
      'each failed login is audited with its reason, unknown emails without a user',
    );
  });

  t.test('an unknown email costs a full argon2 verification (hashed against a dummy)', async (t) => {
    const { passwords } = app.services;
    let calls = 0;
    const verify = passwords.verify.bind(passwords);
    passwords.verify = async (hash, password) => {
      calls++;
      return verify(hash, password);
    };
    t.teardown(() => {
      passwords.verify = verify;
    });
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: uniqueEmail(), password: 'whatever123' },
    });
    t.equal(calls, 1, 'an unknown email still costs one password verification');
  });

  t.test('login records the session with its user agent and ip, and an audit event', async (t) => {
    const { res } = await login(app, email, PASSWORD, { 'user-agent': 'TestBrowser/1.0' });
    t.equal(res.statusCode, 200, 'the login with a user agent is accepted');
    const s = await db.database.prisma.session.findFirstOrThrow({
      where: { userId: user.id, userAgent: 'TestBrowser/1.0' },
    });
    t.equal(s.ip, '127.0.0.1', 'the session records the client ip');
    t.equal(s.revokedAt, null, 'the new session is not revoked');
    const ev = await db.database.prisma.auditEvent.findFirstOrThrow({ where: { type: 'login_ok', sessionId: s.id } });
    t.equal(ev.userId, user.id, 'the login_ok event names the user');
    t.equal(ev.userAgent, 'TestBrowser/1.0', 'the login_ok event records the user agent');
    t.type(ev.requestId, 'string', 'the login_ok event carries the request id');
  });

  t.test('bad login bodies get 400 invalid_request', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email } });
    expectError(t, res, 'invalid_request');
  });
});

t.test('argon2 parameters: configurable, OWASP minimum as the floor, hashes upgraded at login', async (t) => {
  const { app, db, keysDir } = await buildTestApp(t, { productionArgon2: true });
  const { email, user } = await register(app);
  const before = (await db.database.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;
  t.match(before, /m=19456,p=1,t=2/, 'hashes start with the OWASP minimum parameters');
  const { app: stronger } = await buildTestApp(t, {
    db,
    keysDir,
    env: { ARGON2_MEMORY_KIB: '24576', ARGON2_TIME_COST: '3' },
  });
  await login(stronger, email);
  const after = (await db.database.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;
  t.match(after, /m=24576,p=1,t=3/, 're-hashed with the new parameters');
  t.ok(await login(stronger, email), 'and the password still works');
  await t.rejects(
    buildTestApp(t, { env: { ARGON2_MEMORY_KIB: '4096' } }),
    {
      name: 'ConfigError',
      message: /ARGON2_MEMORY_KIB/,
    },
    'an argon2 memory below the OWASP minimum is refused at start-up',
  );
});
