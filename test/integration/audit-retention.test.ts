// The audit log is bounded (AUDIT_RETENTION_DAYS, deleted by the purge job in batches) and can be exported
// first by an admin (GET /admin/audit/export, NDJSON or CSV, filtered like /admin/audit).
import t from 'tap';
import { adminSession, bearer } from '../authz-fixtures.js';
import { buildTestApp, expectError, session } from '../helper.js';

const DAY = 86_400_000;

t.test('audit rows older than AUDIT_RETENTION_DAYS are deleted by the purge job; newer ones stay', async (t) => {
  const { app, clock } = await buildTestApp(t, { env: { PURGE_INTERVAL_SECONDS: '1', AUDIT_RETENTION_DAYS: '30' } });
  const admin = await adminSession(app);
  const prisma = app.services.database.prisma;
  const old = new Date(clock.now().getTime() - 31 * DAY);
  await prisma.auditEvent.createMany({
    data: Array.from({ length: 1200 }, () => ({ type: 'refresh', userId: admin.user.id, createdAt: old })),
  });
  const kept = await prisma.auditEvent.count({ where: { createdAt: { gt: new Date(clock.now().getTime() - DAY) } } });
  t.ok(kept > 0, 'the admin session wrote recent audit rows');

  let left = -1;
  for (let i = 0; i < 100 && left !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = await prisma.auditEvent.count({ where: { createdAt: { lt: new Date(clock.now().getTime() - 30 * DAY) } } });
  }
  t.equal(left, 0, 'every row past the retention is gone, in batches, by the purge job itself');
  const page = await app.inject({
    url: `/admin/audit?user_id=${admin.user.id}&limit=100`,
    headers: bearer(admin.accessToken),
  });
  t.equal(page.statusCode, 200, 'the audit log still answers');
  t.equal(page.json().events.length, kept, 'the rows within the retention are all still there');
});

t.test('20 purges at the same instant delete each old row once, none fails, none waits on another', async (t) => {
  const { app, clock } = await buildTestApp(t, { env: { AUDIT_RETENTION_DAYS: '7' } });
  const prisma = app.services.database.prisma;
  await prisma.auditEvent.createMany({
    data: Array.from({ length: 2000 }, () => ({
      type: 'refresh',
      createdAt: new Date(clock.now().getTime() - 8 * DAY),
    })),
  });
  const deleted = await Promise.all(Array.from({ length: 20 }, () => app.services.auditRetention.purge(100, 100)));
  t.equal(
    deleted.reduce((a, b) => a + b, 0),
    2000,
    'together the purges deleted every old row exactly once',
  );
  t.equal(await prisma.auditEvent.count(), 0, 'nothing old is left');
});

t.test('AUDIT_RETENTION_DAYS=0 keeps every row', async (t) => {
  const { app, clock } = await buildTestApp(t, { env: { AUDIT_RETENTION_DAYS: '0' } });
  const prisma = app.services.database.prisma;
  await prisma.auditEvent.create({
    data: { type: 'refresh', createdAt: new Date(clock.now().getTime() - 3650 * DAY) },
  });
  t.equal(await app.services.auditRetention.purge(), 0, 'the purge deletes nothing');
  t.equal(await prisma.auditEvent.count(), 1, 'a ten-year-old row is still there');
});

t.test('an admin exports the audit log as NDJSON or CSV, filtered like the pages; others cannot', async (t) => {
  const { app } = await buildTestApp(t);
  const admin = await adminSession(app);
  const user = await session(app);
  const prisma = app.services.database.prisma;
  // More rows than one page of the export, one with a user agent a spreadsheet would run as a formula.
  await prisma.auditEvent.createMany({
    data: Array.from({ length: 1100 }, (_, i) => ({
      type: 'refresh',
      userId: user.user.id,
      ip: '192.0.2.7',
      userAgent: i === 0 ? '=HYPERLINK("x","y"), a "quoted" agent' : 'curl/8',
      createdAt: new Date(),
    })),
  });
  const total = await prisma.auditEvent.count({ where: { userId: user.user.id } });

  const nd = await app.inject({
    url: `/admin/audit/export?user_id=${user.user.id}`,
    headers: bearer(admin.accessToken),
  });
  t.equal(nd.statusCode, 200, 'the export answers');
  t.match(nd.headers['content-type'], /^application\/x-ndjson/, 'NDJSON by default');
  const rows = nd.body
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(rows.length, total, "every one of the user's rows, across pages");
  t.same(
    Object.keys(rows[0]).sort(),
    ['created_at', 'id', 'ip', 'reason', 'request_id', 'session_id', 'type', 'user_agent', 'user_id'],
    'a line holds the fields of an audit event, in snake_case like the rest of the API',
  );
  t.ok(
    rows.every((r) => r.user_id === user.user.id),
    'only the filtered user',
  );
  t.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'no row twice');
  t.ok(
    rows.some((r) => r.user_agent === 'curl/8' && r.ip === '192.0.2.7'),
    'with the address and user agent the rows hold',
  );

  const byType = await app.inject({
    url: `/admin/audit/export?user_id=${user.user.id}&event_type=login_ok&format=csv`,
    headers: bearer(admin.accessToken),
  });
  t.match(byType.headers['content-type'], /^text\/csv/, 'CSV when asked');
  const csv = byType.body.trimEnd().split('\r\n');
  t.equal(csv[0], 'id,created_at,type,user_id,session_id,reason,ip,user_agent,request_id', 'a header row');
  t.equal(csv.length, 2, 'and the one login of the user: the type filter applies');

  const all = await app.inject({
    url: `/admin/audit/export?format=csv&user_id=${user.user.id}`,
    headers: bearer(admin.accessToken),
  });
  t.match(all.body, `"'=HYPERLINK(""x"",""y""), a ""quoted"" agent"`, 'fields are quoted and formulas defused');

  const empty = await app.inject({
    url: `/admin/audit/export?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z`,
    headers: bearer(admin.accessToken),
  });
  t.equal(empty.statusCode, 200, 'an empty range answers');
  t.equal(empty.body, '', 'with no lines');

  expectError(
    t,
    await app.inject({ url: '/admin/audit/export', headers: bearer(user.accessToken) }),
    'insufficient_scope',
    'a user who is not an admin cannot export the audit log',
  );
  expectError(
    t,
    await app.inject({ url: '/admin/audit/export?format=xml', headers: bearer(admin.accessToken) }),
    'invalid_request',
    'an unknown format is refused',
  );
});
