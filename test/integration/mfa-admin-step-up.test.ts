// Admin changes are sensitive acts: an admin with a second factor grants and revokes roles, manages clients and
// webhooks and resets factors only within RECENT_LOGIN_SECONDS of proving that factor (401 step_up_required,
// RFC 9470's challenge), answered by POST /auth/step-up; reads need no step-up; an admin without a factor, and
// a service client's admin token, change things as before.
import t from 'tap';
import { buildTestApp, expectError, ManualClock, PASSWORD, register, type TestApp } from '../helper.js';
import { adminSession, bearer } from '../authz-fixtures.js';
import { codeAt, firstStep, verify, withTotp } from '../mfa-fixture.js';

/** Every kind of change the admin API makes, against `target` (a user without a factor). */
function changes(app: TestApp, token: string, target: string) {
  const headers = bearer(token);
  return {
    'granting a role': () => app.inject({ method: 'PUT', url: `/admin/users/${target}/roles/admin`, headers }),
    'revoking a role': () => app.inject({ method: 'DELETE', url: `/admin/users/${target}/roles/admin`, headers }),
    'registering a client': () =>
      app.inject({
        method: 'POST',
        url: '/admin/clients',
        headers,
        payload: { client_name: 'Partner', redirect_uris: ['https://partner.example/cb'] },
      }),
    'adding a webhook': () =>
      app.inject({
        method: 'POST',
        url: '/admin/webhooks',
        headers,
        payload: { url: 'https://hooks.example/tessera', event_types: ['user.created'] },
      }),
    'resetting factors': () => app.inject({ method: 'DELETE', url: `/admin/users/${target}/mfa`, headers }),
  };
}

/** An admin with an authenticator app, signed in with it: the access token and what a step-up needs. */
async function adminWithFactor(app: TestApp, clock: ManualClock) {
  const admin = await adminSession(app);
  const f = await withTotp(app, clock, admin.email);
  clock.advance(31);
  const done = await verify(app, {
    mfa_token: await firstStep(app, admin.email, PASSWORD),
    factor_id: f.factorId,
    code: codeAt(f.secret, clock.now()),
  });
  return { ...admin, ...f, accessToken: done.json().access_token as string };
}

t.test('an admin with a factor changes things only within RECENT_LOGIN_SECONDS of proving it', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const admin = await adminWithFactor(app, clock);
  const { user: target } = await register(app);

  for (const [what, act] of Object.entries(changes(app, admin.accessToken, target.id))) {
    const res = await act();
    t.ok(res.statusCode < 300, `${what} works right after signing in with the factor (${res.statusCode})`);
  }

  clock.advance(301);
  for (const [what, act] of Object.entries(changes(app, admin.accessToken, target.id))) {
    const res = await act();
    expectError(t, res, 'step_up_required', `${what} with a sign-in over 5 minutes old`);
    t.match(
      res.headers['www-authenticate'],
      /insufficient_user_authentication.*acr_values="2".*max_age=300/,
      `${what}: the RFC 9470 challenge says what to prove`,
    );
  }
  const read = await app.inject({ method: 'GET', url: '/admin/users', headers: bearer(admin.accessToken) });
  t.equal(read.statusCode, 200, 'reading needs no step-up');

  const up = await app.inject({
    method: 'POST',
    url: '/auth/step-up',
    headers: bearer(admin.accessToken),
    payload: { factor_id: admin.factorId, code: codeAt(admin.secret, clock.now()) },
  });
  t.equal(up.statusCode, 200, 'the admin steps up with the app');
  const granted = await changes(app, up.json().access_token, target.id)['granting a role']();
  t.ok(granted.statusCode < 300, `with the stepped-up token the change goes through (${granted.statusCode})`);
});

t.test('30 stale admin changes at once are all refused, and none takes effect', async (t) => {
  const clock = new ManualClock(new Date());
  const { app, db } = await buildTestApp(t, { clock });
  const admin = await adminWithFactor(app, clock);
  const targets = await Promise.all(Array.from({ length: 30 }, () => register(app)));
  clock.advance(301);
  const results = await Promise.all(
    targets.map(({ user }) => changes(app, admin.accessToken, user.id)['granting a role']()),
  );
  t.ok(
    results.every((r) => r.statusCode === 401 && r.json().code === 'step_up_required'),
    'every grant is refused with step_up_required',
  );
  const granted = await db.database.prisma.userRole.count({
    where: { userId: { in: targets.map((x) => x.user.id) } },
  });
  t.equal(granted, 0, 'no role was granted');
});

t.test('an admin without a factor changes things with an older sign-in, as before', async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const admin = await adminSession(app);
  const { user: target } = await register(app);
  clock.advance(301);
  const res = await changes(app, admin.accessToken, target.id)['granting a role']();
  t.ok(res.statusCode < 300, `no factor on the admin's account: no step-up asked (${res.statusCode})`);
});
