// What a password login costs the database, counted at the driver (every statement, Prisma's or the raw ones):
// a successful login without a second factor is TWO statements, the read of the account (with what the login
// decides on) and the session's start (the user row locked, the session, its audit row and webhook deliveries,
// and the token's roles and email_verified), with no interactive transaction. Runs on PGlite and PostgreSQL.
import t from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp, login, PASSWORD, recordStatements, register } from '../helper.js';
import { withTotp } from '../mfa-fixture.js';
import { meta } from '../authz-fixtures.js';

const loginRequest = { method: 'POST' as const, url: '/auth/login' };

t.test('a successful password login sends two statements and the token still carries roles', async (t) => {
  const { app, db } = await buildTestApp(t);
  const prisma = db.database.prisma;
  const { email, user } = await register(app);
  await app.services.roles.grant(user.id, 'editor', { kind: 'cli' }, meta);
  await prisma.webhookEndpoint.create({
    data: { url: 'https://hooks.example.com/in', eventTypes: ['sign_in.succeeded'], createdAt: new Date() },
  });
  await login(app, email); // first use of each statement (PostgreSQL prepares it), out of the count

  const rec = recordStatements(db);
  const res = await app.inject({ ...loginRequest, payload: { email, password: PASSWORD } });
  const statements = rec.stop();
  t.equal(res.statusCode, 200, 'the counted login is accepted');
  t.equal(statements.length, 2, `two statements: ${statements.map((q) => q.slice(0, 60)).join(' | ')}`);
  t.notOk(
    statements.some((q) => /^(BEGIN|SET TRANSACTION|START|COMMIT)/i.test(q)),
    'no interactive transaction: the session starts in one statement',
  );
  t.match(statements[0], /FROM users u WHERE u\.email = \$1/, 'first, the one read of the account by its address');
  t.match(statements[1], /FOR SHARE[\s\S]*INSERT INTO sessions[\s\S]*INSERT INTO audit_events/, 'then the start');

  const claims = decodeJwt(res.json().access_token as string);
  t.same(claims.roles, ['editor'], 'the access token states the roles the start statement returned');
  t.equal(claims.email_verified, false, 'and whether the address is verified');
  const sid = claims.sid as string;
  t.equal(
    await prisma.auditEvent.count({ where: { type: 'login_ok', sessionId: sid, userId: user.id } }),
    1,
    'the login_ok audit row of the new session rode along',
  );
  t.equal(
    await prisma.webhookDelivery.count({ where: { eventType: 'sign_in.succeeded', payload: { contains: sid } } }),
    1,
    'so did the sign_in.succeeded delivery to the endpoint that asked for it',
  );
  t.equal(await prisma.session.count({ where: { id: sid, userId: user.id } }), 1, 'the session row exists');
});

t.test('a login whose account has a second factor sends three statements and starts no session', async (t) => {
  const { app, db, clock } = await buildTestApp(t);
  const prisma = db.database.prisma;
  const { email, user } = await register(app);
  await withTotp(app, clock, email);
  const warm = await app.inject({ ...loginRequest, payload: { email, password: PASSWORD } });
  t.equal(warm.json().mfa_required, true, 'the account asks for a second step (warm-up)');
  const sessionsBefore = await prisma.session.count({ where: { userId: user.id } });

  const rec = recordStatements(db);
  const res = await app.inject({ ...loginRequest, payload: { email, password: PASSWORD } });
  const statements = rec.stop();
  t.equal(res.statusCode, 200, 'the first step is accepted');
  t.equal(res.json().mfa_required, true, 'and answered with the second step');
  // The read of the account says there IS a factor; the answer lists each one (id and type), which the read
  // does not carry, and the mfa_token must be stored before it is handed out: three, and no session statement.
  t.equal(statements.length, 3, `three statements: ${statements.map((q) => q.slice(0, 60)).join(' | ')}`);
  t.match(statements[0], /FROM users u WHERE u\.email = \$1/, 'the read of the account, saying it has a factor');
  t.match(statements[1], /mfa_factors/, 'the factors the answer lists');
  t.match(statements[2], /INSERT INTO "?(public"?\.)?"?mfa_challenges/, 'the challenge the mfa_token stands for');
  t.equal(
    await prisma.session.count({ where: { userId: user.id } }),
    sessionsBefore,
    'no session starts before the second step',
  );
});
