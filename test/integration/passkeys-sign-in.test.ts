// Passkey sign-in through HTTP and a real database: what a verified passkey proves (amr, acr, kept by a
// refresh), the challenge rules (one ceremony, five minutes, spent on first use even by a failure, one winner
// among parallel verifies), user verification when required, and the signature counter rule.
import t from 'tap';
import { decodeJwt } from 'jose';
import { expectError, me, refresh, refreshCookieOf } from '../helper.js';
import { SoftAuthenticator } from '../passkey-authenticator.js';
import {
  bearer,
  passkeyApp,
  registrationOptions,
  registrationVerify,
  signInOptions,
  signInVerify,
  userWithPasskey,
} from '../passkey-fixture.js';

t.test('a passkey that verified the user signs in usernameless as two factors, and a refresh keeps that', async (t) => {
  const { app } = await passkeyApp(t);
  const { authenticator, user, email } = await userWithPasskey(app);
  const { challenge_id, options } = await signInOptions(app);
  const res = await signInVerify(app, challenge_id, authenticator.assert(options));
  t.equal(res.statusCode, 200, 'the passkey alone signs in, no email asked');
  const claims = decodeJwt(res.json().access_token);
  t.equal(claims.sub, user.id, 'the token is for the passkey’s owner');
  t.same(claims.amr, ['hwk', 'user'], 'amr: a hardware-bound key, and the user verified by it');
  t.equal(claims.acr, '2', 'acr: two factors');
  t.equal((await me(app, res.json().access_token)).json().email, email, 'the access token works at /auth/me');
  const cookie = refreshCookieOf(res);
  t.ok(cookie, 'the usual refresh cookie is set');
  const next = await refresh(app, cookie);
  t.equal(next.statusCode, 200, 'the refresh cookie refreshes');
  t.same(decodeJwt(next.json().access_token).amr, ['hwk', 'user'], 'a refresh keeps the passkey’s amr');
  t.equal(decodeJwt(next.json().access_token).acr, '2', 'and its acr');
});

t.test('a synced passkey says swk; one that did not verify the user is one factor', async (t) => {
  const { app } = await passkeyApp(t);
  const { authenticator } = await userWithPasskey(app, { synced: true, userVerified: false });
  const { challenge_id, options } = await signInOptions(app);
  const res = await signInVerify(app, challenge_id, authenticator.assert(options));
  t.equal(res.statusCode, 200, 'a sign-in that did not require user verification accepts presence alone');
  const claims = decodeJwt(res.json().access_token);
  t.same(claims.amr, ['swk'], 'amr: a software (synced) key, no user verification');
  t.equal(claims.acr, '1', 'one factor: acr "1"');
});

t.test('a sign-in that requires user verification refuses an answer without it', async (t) => {
  const { app, db } = await passkeyApp(t);
  const { authenticator, user } = await userWithPasskey(app, { userVerified: false });
  const { challenge_id, options } = await signInOptions(app, 'required');
  t.equal(
    (options as { userVerification?: string }).userVerification,
    'required',
    'the options ask the browser for UV',
  );
  const res = await signInVerify(app, challenge_id, authenticator.assert(options));
  expectError(t, res, 'passkey_user_verification_required', 'an answer without user verification');
  t.notOk(refreshCookieOf(res), 'no session cookie');
  const failed = await db.database.prisma.auditEvent.count({
    where: { type: 'passkey_sign_in_failed', userId: user.id },
  });
  t.equal(failed, 1, 'the refusal is audited against the passkey’s owner');
  authenticator.userVerified = true;
  const again = await signInOptions(app, 'required');
  t.equal(
    (await signInVerify(app, again.challenge_id, authenticator.assert(again.options))).statusCode,
    200,
    'with user verification the same passkey signs in',
  );
});

t.test('a challenge is spent by its first use, even a failed one, and lives five minutes', async (t) => {
  const { app, clock } = await passkeyApp(t);
  const { authenticator } = await userWithPasskey(app);
  // Its passkey is the account's second factor: registering another needs a session that proved it.
  const byKey = await signInOptions(app);
  const accessToken = (await signInVerify(app, byKey.challenge_id, authenticator.assert(byKey.options))).json()
    .access_token as string;
  const first = await signInOptions(app);
  const stranger = new SoftAuthenticator({ origin: 'http://localhost:5173' });
  stranger.register({ challenge: 'x', user: { id: 'AAAA' } });
  expectError(
    t,
    await signInVerify(app, first.challenge_id, stranger.assert(first.options)),
    'passkey_sign_in_failed',
    'an unknown passkey',
  );
  expectError(
    t,
    await signInVerify(app, first.challenge_id, authenticator.assert(first.options)),
    'passkey_challenge_invalid',
    'the right passkey after a failed try on the same challenge',
  );

  const reg = (await registrationOptions(app, accessToken)).json();
  expectError(
    t,
    await signInVerify(app, reg.challenge_id, authenticator.assert(reg.options)),
    'passkey_challenge_invalid',
    'a registration challenge presented to sign in',
  );
  const signIn = await signInOptions(app);
  const regVerify = await registrationVerify(app, accessToken, {
    challenge_id: signIn.challenge_id,
    response: new SoftAuthenticator().register({ challenge: signIn.options.challenge, user: { id: 'AAAA' } }),
  });
  expectError(t, regVerify, 'passkey_challenge_invalid', 'a sign-in challenge presented to register');

  const wrongOrigin = await signInOptions(app);
  authenticator.origin = 'http://localhost:6666';
  expectError(
    t,
    await signInVerify(app, wrongOrigin.challenge_id, authenticator.assert(wrongOrigin.options)),
    'passkey_sign_in_failed',
    'an answer from an origin not in WEBAUTHN_ORIGINS',
  );
  authenticator.origin = 'http://localhost:5173';

  const late = await signInOptions(app);
  clock.advance(301);
  expectError(
    t,
    await signInVerify(app, late.challenge_id, authenticator.assert(late.options)),
    'passkey_challenge_invalid',
    'a challenge older than five minutes',
  );

  const fresh = await signInOptions(app);
  clock.advance(299);
  t.equal(
    (await signInVerify(app, fresh.challenge_id, authenticator.assert(fresh.options))).statusCode,
    200,
    'a challenge just under five minutes old still works',
  );
});

t.test('20 parallel verifies of one challenge: at most one signs in', async (t) => {
  const { app, db } = await passkeyApp(t);
  const { authenticator, user } = await userWithPasskey(app);
  const { challenge_id, options } = await signInOptions(app);
  const answers = Array.from({ length: 20 }, () => authenticator.assert(options));
  const results = await Promise.all(answers.map((a) => signInVerify(app, challenge_id, a)));
  const ok = results.filter((r) => r.statusCode === 200).length;
  t.equal(ok, 1, 'exactly one verify wins the challenge');
  t.equal(
    results.filter((r) => r.json().code === 'passkey_challenge_invalid').length,
    19,
    'every other one finds it spent',
  );
  t.equal(
    await db.database.prisma.session.count({ where: { userId: user.id, amr: { has: 'hwk' } } }),
    1,
    'one passkey session exists',
  );
});

t.test(
  'the signature counter moves forward; going backwards is audited, refused for a single-device passkey',
  async (t) => {
    const { app, db } = await passkeyApp(t);
    const single = await userWithPasskey(app);
    const a = await signInOptions(app);
    t.equal(
      (await signInVerify(app, a.challenge_id, single.authenticator.assert(a.options, { counter: 7 }))).statusCode,
      200,
      'counter 7 signs in',
    );
    const listed = await app.inject({ method: 'GET', url: '/auth/passkeys', headers: bearer(single.accessToken) });
    t.equal(listed.json().passkeys[0].sign_count, 7, 'the listing shows the counter the server now holds');
    t.ok(listed.json().passkeys[0].last_used_at, 'and when the passkey was last used');
    const b = await signInOptions(app);
    expectError(
      t,
      await signInVerify(app, b.challenge_id, single.authenticator.assert(b.options, { counter: 7 })),
      'passkey_counter_invalid',
      'the same counter again (a copied authenticator)',
    );
    const c = await signInOptions(app);
    expectError(
      t,
      await signInVerify(app, c.challenge_id, single.authenticator.assert(c.options, { counter: 3 })),
      'passkey_counter_invalid',
      'a lower counter',
    );

    const synced = await userWithPasskey(app, { synced: true });
    const d = await signInOptions(app);
    t.equal(
      (await signInVerify(app, d.challenge_id, synced.authenticator.assert(d.options, { counter: 9 }))).statusCode,
      200,
      'a synced passkey at 9',
    );
    const e = await signInOptions(app);
    t.equal(
      (await signInVerify(app, e.challenge_id, synced.authenticator.assert(e.options, { counter: 2 }))).statusCode,
      200,
      'a synced passkey going back to 2 still signs in',
    );
    const audited = await db.database.prisma.auditEvent.findMany({
      where: { type: 'passkey_counter_regressed' },
      orderBy: { createdAt: 'asc' },
    });
    t.equal(audited.length, 3, 'each backwards counter is an audit row');
    t.match(audited.at(-1)!.reason, /allowed \(synced\)/, 'the synced one is recorded as allowed');
    t.equal(audited.at(-1)!.userId, synced.user.id, 'against its owner');
  },
);

t.test('as a second factor, a passkey answers only a challenge issued for its owner', async (t) => {
  const { app } = await passkeyApp(t);
  const assertions = app.services.passkeys!.assertions;
  const meta = { ip: '127.0.0.1', requestId: 'second-factor' };
  const alice = await userWithPasskey(app, { userVerified: false });
  const bob = await userWithPasskey(app);
  const forAlice = await assertions.options('preferred', alice.user.id, 'mfa:one');
  t.same(
    forAlice.options.allowCredentials?.map((c) => c.id),
    [alice.authenticator.id],
    'the options offer only Alice’s passkeys',
  );
  const verified = await assertions.verifyForUser(
    alice.user.id,
    forAlice.challengeId,
    alice.authenticator.assert(forAlice.options) as never,
    meta,
    'mfa:one',
  );
  t.match(verified, { userId: alice.user.id, synced: false, userVerified: false }, 'Alice’s passkey verifies for her');

  const again = await assertions.options('preferred', alice.user.id, 'mfa:two');
  await t.rejects(
    assertions.verifyForUser(
      alice.user.id,
      again.challengeId,
      bob.authenticator.assert(again.options) as never,
      meta,
      'mfa:two',
    ),
    { code: 'passkey_sign_in_failed' },
    'Bob’s passkey is refused for Alice',
  );
  const elsewhere = await assertions.options('preferred', alice.user.id, 'mfa:three');
  await t.rejects(
    assertions.verifyForUser(
      alice.user.id,
      elsewhere.challengeId,
      alice.authenticator.assert(elsewhere.options) as never,
      meta,
      'mfa:four',
    ),
    { code: 'passkey_challenge_invalid' },
    'a challenge bound to another sign-in does not complete this one',
  );
  const usernameless = await signInOptions(app);
  await t.rejects(
    assertions.verifyForUser(
      alice.user.id,
      usernameless.challenge_id,
      alice.authenticator.assert(usernameless.options) as never,
      meta,
      'mfa:one',
    ),
    { code: 'passkey_challenge_invalid' },
    'a usernameless challenge does not serve as Alice’s second factor',
  );
  const forBob = await assertions.options('required', bob.user.id, 'mfa:five');
  await t.rejects(
    signInVerify(app, forBob.challengeId, bob.authenticator.assert(forBob.options)).then((r) => {
      if (r.statusCode !== 200) throw r.json();
    }),
    { code: 'passkey_challenge_invalid' },
    'a second-factor challenge does not start a usernameless sign-in',
  );
});

t.test('the purge deletes expired challenges, and keeps live ones', async (t) => {
  const { app, clock, db } = await passkeyApp(t);
  await signInOptions(app);
  await signInOptions(app);
  clock.advance(301);
  const live = await signInOptions(app);
  t.equal(await app.services.passkeys!.challenges.purge(), 2, 'the two expired challenges go');
  const left = await db.database.prisma.webauthnChallenge.findMany({ select: { id: true } });
  t.same(
    left.map((c) => c.id),
    [live.challenge_id],
    'the live one stays',
  );
});
