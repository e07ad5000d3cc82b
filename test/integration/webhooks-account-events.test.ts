// The account events a receiver hears about, end to end: each caused through HTTP as a user would (an emailed
// link followed from a real SMTP server, an authenticator app enrolled and removed, a provider identity linked
// through a real OpenID provider and unlinked), delivered by the worker to a real receiver that verifies every
// request with the standardwebhooks library, with a payload that names the user and carries no secret.
import t, { type Test } from 'tap';
import { buildTestApp, login, PASSWORD, register, session, uniqueEmail, type TestApp } from '../helper.js';
import { adminSession, bearer } from '../authz-fixtures.js';
import { mailEnv, startSmtp, tokenFrom } from '../mail-smtp.js';
import { codeAt, firstStep, verify, withTotp } from '../mfa-fixture.js';
import { federationFixture } from '../federation-fixture.js';
import { startReceiver, type Received } from '../webhook-receiver.js';
import { EVENT_TYPES } from '../../src/domain/webhook-events.js';

const ENV = { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true', WEBHOOK_POLL_INTERVAL_MS: '60000' };

/** The event types the webhook feature promises (user, sign-in, session, password, email, role, factor, identity, key). */
const PROMISED = [
  'user.created',
  'user.verified',
  'user.deleted',
  'sign_in.succeeded',
  'sign_in.failed',
  'session.ended',
  'refresh_token.reuse_detected',
  'password.changed',
  'password.reset',
  'email.changed',
  'role.granted',
  'role.revoked',
  'factor.added',
  'factor.removed',
  'identity.linked',
  'identity.unlinked',
  'api_key.created',
  'api_key.revoked',
];

async function subscribe(t: Test, app: TestApp, eventTypes: string[]) {
  const receiver = await startReceiver(t);
  const admin = await adminSession(app);
  const made = await app.inject({
    method: 'POST',
    url: '/admin/webhooks',
    headers: bearer(admin.accessToken),
    payload: { url: receiver.url, event_types: eventTypes },
  });
  if (made.statusCode !== 201) throw new Error(`endpoint not made: ${made.statusCode} ${made.body}`);
  receiver.trust(made.json().secret);
  /** Runs the worker and answers the verified events of `type` received so far. */
  const delivered = async (type: string): Promise<Received[]> => {
    await app.webhookWorker.runOnce();
    t.equal(receiver.rejected.length, 0, 'every delivery carried a signature the receiver verified');
    return receiver.received.filter((r) => r.type === type);
  };
  return { receiver, delivered };
}

/** No email address, JWT, webhook secret, password or any of the given one-time values in the payloads. */
function noSecret(t: Test, events: Received[], secrets: string[]) {
  const text = JSON.stringify(events.map((e) => e.body));
  t.notMatch(text, /@|eyJ|whsec_/, 'no email address, token or webhook secret in the payload');
  for (const s of [PASSWORD, ...secrets]) t.notOk(text.includes(s), 'no password, code or emailed token in it');
}

t.test('the catalogue holds every event type webhooks promise, and nothing else', async (t) => {
  t.same([...EVENT_TYPES].sort(), [...PROMISED].sort(), 'an endpoint can subscribe to each promised type');
});

t.test('emailed links: user.verified, password.reset and email.changed reach a verifying receiver', async (t) => {
  const smtp = await startSmtp(t);
  const { app } = await buildTestApp(t, {
    env: {
      ...ENV,
      ...mailEnv(smtp, {
        EMAIL_CHANGE_URL: 'https://app.example.com/email/confirm',
        EMAIL_CHANGE_UNDO_URL: 'https://app.example.com/email/undo',
      }),
    },
  });
  const { delivered } = await subscribe(t, app, ['user.verified', 'password.reset', 'email.changed']);
  /** The emailed token of the first message to `address` whose subject matches. */
  const mailedToken = async (address: string, subject: RegExp) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const mail = smtp.to(address).find((m) => subject.test(m.subject));
      if (mail) return tokenFrom(mail);
      if (Date.now() > deadline) throw new Error(`no message matching ${subject} to ${address}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const { user, email } = await register(app);
  const verifyToken = await mailedToken(email, /Confirm/);
  const verified = await app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token: verifyToken } });
  t.equal(verified.statusCode, 204, 'the emailed link verified the address');
  const [v] = await delivered('user.verified');
  t.equal(v?.body.data.user_id, user.id, 'user.verified names the user');

  await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
  const resetToken = await mailedToken(email, /Reset/);
  const NEW_PASSWORD = 'a brand new passphrase 7';
  const reset = await app.inject({
    method: 'POST',
    url: '/auth/password/reset',
    payload: { token: resetToken, new_password: NEW_PASSWORD },
  });
  t.equal(reset.statusCode, 204, 'the emailed link reset the password');
  const [r] = await delivered('password.reset');
  t.equal(r?.body.data.user_id, user.id, 'password.reset names the user');

  const s = await login(app, email, NEW_PASSWORD);
  const newEmail = uniqueEmail();
  const asked = await app.inject({
    method: 'POST',
    url: '/auth/email/change',
    headers: bearer(s.accessToken),
    payload: { new_email: newEmail, current_password: NEW_PASSWORD },
  });
  t.equal(asked.statusCode, 202, 'the change of address was asked for');
  const changeToken = await mailedToken(newEmail, /./);
  const confirmed = await app.inject({ method: 'POST', url: '/auth/email/confirm', payload: { token: changeToken } });
  t.equal(confirmed.statusCode, 204, 'the confirmation link changed the address');
  const [c] = await delivered('email.changed');
  t.equal(c?.body.data.user_id, user.id, 'email.changed names the user');
  noSecret(t, [v!, r!, c!], [verifyToken, resetToken, changeToken, NEW_PASSWORD]);
});

t.test('an authenticator app: factor.added and factor.removed reach a verifying receiver', async (t) => {
  const { app, clock } = await buildTestApp(t, { env: ENV });
  const { delivered } = await subscribe(t, app, ['factor.added', 'factor.removed']);
  const { user, email } = await register(app);
  const f = await withTotp(app, clock, email);
  const [added] = await delivered('factor.added');
  t.equal(added?.body.data.user_id, user.id, 'factor.added names the user');

  const code = codeAt(f.secret, clock.now());
  const done = await verify(app, { mfa_token: await firstStep(app, email, PASSWORD), factor_id: f.factorId, code });
  const removed = await app.inject({
    method: 'DELETE',
    url: `/auth/mfa/factors/${f.factorId}`,
    headers: bearer(done.json().access_token),
  });
  t.equal(removed.statusCode, 204, 'the factor was removed with a session that proved it');
  const [gone] = await delivered('factor.removed');
  t.equal(gone?.body.data.user_id, user.id, 'factor.removed names the user');
  noSecret(t, [added!, gone!], [f.secret, code, ...f.recoveryCodes]);
});

t.test('a provider identity: identity.linked and identity.unlinked reach a verifying receiver', async (t) => {
  const f = await federationFixture(t, { env: ENV });
  const { delivered } = await subscribe(t, f.app, ['identity.linked', 'identity.unlinked']);
  const s = await session(f.app);
  const landed = await f.linkIdentity(s.accessToken, {
    sub: `webhook-subject-${Date.now()}`,
    email: uniqueEmail(),
    email_verified: true,
  });
  t.notOk(landed.hash.includes('error') || landed.search.includes('error'), 'the identity was linked');
  const [linked] = await delivered('identity.linked');
  t.equal(linked?.body.data.user_id, s.user.id, 'identity.linked names the user');
  t.match(linked?.body.data.reason, /local/, 'and the provider');

  const identities = (await f.app.inject({ url: '/auth/identities', headers: bearer(s.accessToken) })).json()
    .identities as { id: string }[];
  const unlinked = await f.app.inject({
    method: 'DELETE',
    url: `/auth/identities/${identities[0]!.id}`,
    headers: bearer(s.accessToken),
  });
  t.equal(unlinked.statusCode, 204, 'the identity was unlinked (the password still signs in)');
  const [gone] = await delivered('identity.unlinked');
  t.equal(gone?.body.data.user_id, s.user.id, 'identity.unlinked names the user');
  noSecret(t, [linked!, gone!], []);
});
