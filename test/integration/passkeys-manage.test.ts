// Managing passkeys through HTTP and a real database: adding one needs a recent sign-in and a fresh challenge
// for this user, at most 10 per account (also when 20 arrive at once), listing and renaming, removing (never
// the last way into the account, also when removals race), and the audit row and email for each change.
import t from 'tap';
import { expectError, tempDir, type TestApp } from '../helper.js';
import { SoftAuthenticator } from '../passkey-authenticator.js';
import {
  SPA_ORIGIN,
  addPasskey,
  bearer,
  passkeyApp,
  registrationOptions,
  registrationVerify,
  signInOptions,
  signInVerify,
  userWithPasskeyProven,
} from '../passkey-fixture.js';

const list = (app: TestApp, token: string) =>
  app.inject({ method: 'GET', url: '/auth/passkeys', headers: bearer(token) });
const remove = (app: TestApp, token: string, id: string) =>
  app.inject({ method: 'DELETE', url: `/auth/passkeys/${id}`, headers: bearer(token) });

/** A user with no password: one passkey, signed in with it (a password account whose password is dropped). */
async function passwordlessUser(app: TestApp, passkeys: number) {
  const u = await userWithPasskeyProven(app);
  const more = [];
  for (let i = 1; i < passkeys; i++) {
    const a = new SoftAuthenticator({ origin: SPA_ORIGIN });
    more.push({ authenticator: a, passkey: await addPasskey(app, u.accessToken, a) });
  }
  return { ...u, more };
}

t.test('a passkey is added with a label, listed, renamed; adding needs a recent sign-in', async (t) => {
  const { app, clock } = await passkeyApp(t);
  const u = await userWithPasskeyProven(app);
  const rows = (await list(app, u.accessToken)).json().passkeys;
  t.equal(rows.length, 1, 'the list shows the new passkey');
  t.match(
    rows[0],
    { id: u.passkey.id, label: 'Passkey', device_type: 'singleDevice', backed_up: false, user_verified: true },
    'with its label, device type and whether it verified the user, in snake_case',
  );
  t.same(rows[0].transports, ['internal'], 'and the transports the browser reported');
  const renamed = await app.inject({
    method: 'PATCH',
    url: `/auth/passkeys/${u.passkey.id}`,
    headers: bearer(u.accessToken),
    payload: { label: 'Work laptop' },
  });
  t.equal(renamed.statusCode, 204, 'rename answers 204');
  t.equal((await list(app, u.accessToken)).json().passkeys[0].label, 'Work laptop', 'the new label is listed');
  expectError(
    t,
    await app.inject({
      method: 'PATCH',
      url: `/auth/passkeys/${u.passkey.id}`,
      headers: bearer(u.accessToken),
      payload: { label: '   ' },
    }),
    'passkey_label_invalid',
    'a blank label',
  );
  clock.advance(301);
  expectError(
    t,
    await registrationOptions(app, u.accessToken),
    'step_up_required',
    'a sign-in over 5 minutes old, on an account whose passkey is a second factor (a step-up with it)',
  );
});

t.test('a registration challenge is the user’s it was issued to, and spent once', async (t) => {
  const { app } = await passkeyApp(t);
  const alice = await userWithPasskeyProven(app);
  const bob = await userWithPasskeyProven(app);
  const { challenge_id, options } = (await registrationOptions(app, alice.accessToken)).json();
  const response = new SoftAuthenticator({ origin: SPA_ORIGIN }).register(options);
  expectError(
    t,
    await registrationVerify(app, bob.accessToken, { challenge_id, response }),
    'passkey_challenge_invalid',
    'Alice’s challenge used by Bob',
  );
  expectError(
    t,
    await registrationVerify(app, alice.accessToken, { challenge_id, response }),
    'passkey_challenge_invalid',
    'the challenge after that failed use',
  );
  const again = (await registrationOptions(app, alice.accessToken)).json();
  expectError(
    t,
    await registrationVerify(app, alice.accessToken, {
      challenge_id: again.challenge_id,
      response: alice.authenticator.register(again.options),
    }),
    'passkey_already_registered',
    'the same authenticator twice',
  );
});

t.test('at most 10 passkeys: 20 registrations at once on a user with 9 add exactly one', async (t) => {
  const { app, db } = await passkeyApp(t);
  const u = await passwordlessUser(app, 9);
  const opened = [];
  for (let i = 0; i < 20; i++) opened.push((await registrationOptions(app, u.accessToken)).json());
  const results = await Promise.all(
    opened.map(({ challenge_id, options }) =>
      registrationVerify(app, u.accessToken, {
        challenge_id,
        response: new SoftAuthenticator({ origin: SPA_ORIGIN }).register(options),
      }),
    ),
  );
  t.equal(results.filter((r) => r.statusCode === 201).length, 1, 'one registration is accepted');
  t.equal(
    results.filter((r) => r.json().code === 'passkey_limit_reached').length,
    19,
    'the others are refused with passkey_limit_reached',
  );
  t.equal(await db.database.prisma.webauthnCredential.count({ where: { userId: u.user.id } }), 10, 'ten are stored');
  expectError(t, await registrationOptions(app, u.accessToken), 'passkey_limit_reached', 'options once full');
});

t.test('the last way into an account is not removed, also when removals race', async (t) => {
  const { app, db } = await passkeyApp(t);
  const u = await passwordlessUser(app, 3);
  await db.database.prisma.user.update({ where: { id: u.user.id }, data: { passwordHash: null } });
  const ids = [u.passkey.id, ...u.more.map((m) => m.passkey.id)];
  const results = await Promise.all(Array.from({ length: 21 }, (_, i) => remove(app, u.accessToken, ids[i % 3]!)));
  t.equal(results.filter((r) => r.statusCode === 204).length, 2, 'two of the three passkeys are removed');
  const refused = results.filter((r) => r.statusCode !== 204).map((r) => r.json().code);
  t.ok(refused.includes('last_login_method'), 'removing the last one is refused with last_login_method');
  t.same(
    [...new Set(refused)].sort(),
    ['last_login_method', 'not_found'],
    'every other removal finds its passkey gone or the last one',
  );
  const left = await db.database.prisma.webauthnCredential.findMany({ where: { userId: u.user.id } });
  t.equal(left.length, 1, 'one passkey is left');
  expectError(
    t,
    await remove(app, u.accessToken, left[0]!.id),
    'last_login_method',
    'the last passkey of a passwordless account',
  );
  const { challenge_id, options } = await signInOptions(app);
  const survivor = [u.authenticator, ...u.more.map((m) => m.authenticator)].find(
    (a) => a.id === left[0]!.credentialId,
  )!;
  t.equal((await signInVerify(app, challenge_id, survivor.assert(options))).statusCode, 200, 'and it still signs in');
  expectError(
    t,
    await remove(app, u.accessToken, '00000000-0000-4000-8000-000000000000'),
    'not_found',
    'an unknown id',
  );
});

t.test('a passkey of an account with a password is removed; each change is audited and emailed', async (t) => {
  const outbox = await tempDir(t);
  const { app, db } = await passkeyApp(t, { env: { EMAIL_FLOWS: 'on', MAIL_OUTBOX_DIR: outbox } });
  const u = await userWithPasskeyProven(app);
  t.equal((await remove(app, u.accessToken, u.passkey.id)).statusCode, 204, 'the password remains, so it goes');
  t.equal((await list(app, u.accessToken)).json().passkeys.length, 0, 'the list is empty');
  const prisma = db.database.prisma;
  const types = (
    await prisma.auditEvent.findMany({ where: { userId: u.user.id, type: { startsWith: 'passkey_' } } })
  ).map((e) => e.type);
  t.same(types.sort(), ['passkey_added', 'passkey_removed'], 'an audit row for the addition and the removal');
  const mails = await prisma.mailMessage.findMany({ where: { recipient: u.email, kind: { startsWith: 'passkey_' } } });
  t.same(mails.map((m) => m.kind).sort(), ['passkey_added', 'passkey_removed'], 'an email for each, to the owner');
  t.match(mails[0]!.textBody, /Passkey/, 'naming the passkey');
});
