// The linking policy against the attacks it exists for, through the local OpenID provider
// (test/federation-idp.ts) and HTTP: a pre-registered account waiting for its address's owner (pre-account
// takeover), a look-alike address, and what an account made through a provider says about its address.
import t from 'tap';
import { federationFixture } from '../federation-fixture.js';
import { expectError, login, me, refresh, refreshCookieOf, register } from '../helper.js';
import { codeAt, confirm, enrol } from '../mfa-fixture.js';
import { SoftAuthenticator } from '../passkey-authenticator.js';
import { addPasskey, PASSKEY_ENV, SPA_ORIGIN } from '../passkey-fixture.js';

const ATTACKER_PASSWORD = 'the attacker chose this one';
const errorOf = (url: URL) => url.searchParams.get('error');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
let n = 0;
const unique = () => `${++n}-${Date.now().toString(36)}`;
const account = (email: string, verified = true) => ({
  sub: `link-subject-${unique()}`,
  email,
  email_verified: verified,
});

t.test(
  "pre-account takeover: a trusted provider's verified sign-in to an unverified account first removes the earlier holder's password, identities and sessions",
  async (t) => {
    const f = await federationFixture(t);
    const prisma = f.db.database.prisma;
    const victimEmail = `victim-${unique()}@example.com`;
    // The attacker registers the victim's address (nothing verifies it), signs in, and links a provider
    // account of their own, to keep a way in whatever happens to the password.
    const squatted = await register(f.app, victimEmail, ATTACKER_PASSWORD);
    const attacker = await login(f.app, victimEmail, ATTACKER_PASSWORD);
    const attackersOwn = account(`attacker-${unique()}@elsewhere.example`);
    t.equal(errorOf(await f.linkIdentity(attacker.accessToken, attackersOwn)), null, "the attacker's link works");

    // The victim signs in with the trusted provider, which vouches for the address.
    f.idp.next = account(victimEmail.toUpperCase());
    const victim = await f.signIn('trusted');
    t.equal(errorOf(victim.landed), null, 'the owner of the address signs in');
    const victimToken = await f.refresh(victim.browser);
    t.equal(victimToken.claims!.sub, squatted.user.id, 'into the account that holds the address');

    const byPassword = await f.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: victimEmail, password: ATTACKER_PASSWORD },
    });
    expectError(t, byPassword, 'invalid_credentials', "the attacker's password no longer opens the account");
    expectError(t, await refresh(f.app, attacker.refresh), 'session_revoked', "the attacker's session is ended");
    expectError(t, await me(f.app, attacker.accessToken), 'invalid_token', "the attacker's access token stops working");
    f.idp.next = attackersOwn;
    const viaOwnIdentity = await f.signIn('local');
    t.not(
      (await f.refresh(viaOwnIdentity.browser)).claims!.sub,
      squatted.user.id,
      "the identity the attacker linked no longer signs in to the victim's account",
    );
    t.match(
      await prisma.identity.findMany({ where: { userId: squatted.user.id } }),
      [{ provider: 'trusted' }],
      "the account keeps only the identity of the address's owner",
    );

    const mine = await me(f.app, victimToken.body.access_token as string);
    t.equal(mine.json().email_verified, true, 'the address counts as verified: the provider vouched for it');
    t.match(
      await prisma.auditEvent.findMany({ where: { type: 'account_reclaimed' } }),
      [{ userId: squatted.user.id, reason: /password removed, 1 identities removed; 1 sessions ended/ }],
      'what was removed is audited',
    );
    const first = await f.app.inject({
      method: 'POST',
      url: '/auth/password/first',
      headers: bearer(victimToken.body.access_token as string),
      payload: { new_password: 'the owner picks a new one' },
    });
    t.equal(first.statusCode, 204, 'the owner can set a password of their own');
    t.equal((await login(f.app, victimEmail, 'the owner picks a new one')).res.statusCode, 200, 'and log in with it');
  },
);

t.test(
  'an account whose address was verified keeps its password and sessions when a trusted provider links',
  async (t) => {
    const f = await federationFixture(t);
    const prisma = f.db.database.prisma;
    const owner = await register(f.app, `owner-${unique()}@example.com`);
    await prisma.user.update({ where: { id: owner.user.id }, data: { emailVerifiedAt: new Date() } });
    const before = await login(f.app, owner.email);

    f.idp.next = account(owner.email);
    const linked = await f.signIn('trusted');
    t.equal((await f.refresh(linked.browser)).claims!.sub, owner.user.id, 'the verified address links');
    t.equal((await login(f.app, owner.email)).res.statusCode, 200, 'the password of a verified owner still works');
    t.equal((await refresh(f.app, before.refresh)).statusCode, 200, 'and the session it had goes on');
    t.equal(await prisma.auditEvent.count({ where: { type: 'account_reclaimed' } }), 0, 'nothing was reclaimed');
  },
);

t.test(
  "20 password logins of the earlier holder racing the owner's provider sign-in: none leaves a live session",
  async (t) => {
    const f = await federationFixture(t);
    const email = `raced-${unique()}@example.com`;
    const squatted = await register(f.app, email, ATTACKER_PASSWORD);
    f.idp.next = account(email);
    const { browser, callback } = await f.toCallback('trusted');
    const [landed, ...logins] = await Promise.all([
      f.finish(browser, callback),
      // From 20 addresses: the login throttle lets one guess at a time through per (address, client).
      ...Array.from({ length: 20 }, (_, i) =>
        f.app.inject({
          method: 'POST',
          url: '/auth/login',
          remoteAddress: `192.0.2.${i + 1}`,
          payload: { email, password: ATTACKER_PASSWORD },
        }),
      ),
    ]);
    t.equal(errorOf(landed!), null, "the owner's sign-in succeeds");
    const ownerSession = await f.refresh(browser);
    t.equal(ownerSession.claims!.sub, squatted.user.id, 'into the account of the address');
    for (const res of logins) {
      if (res.statusCode !== 200) {
        t.ok(
          ['invalid_credentials', 'credentials_changed'].includes(res.json().code),
          `a login after the link is refused (${res.json().code})`,
        );
        continue;
      }
      expectError(t, await refresh(f.app, refreshCookieOf(res)), 'session_revoked', 'a login just before it is ended');
    }
    const live = await f.db.database.prisma.session.findMany({
      where: { userId: squatted.user.id, revokedAt: null },
      select: { id: true },
    });
    t.same(
      live.map((s) => s.id),
      [ownerSession.claims!.sid],
      "the owner's session is the only live one, whatever the order",
    );
  },
);

t.test('linking matches the exact address, never a look-alike (rn for m)', async (t) => {
  const f = await federationFixture(t);
  const prisma = f.db.database.prisma;
  const tag = unique();
  const lookalike = await register(f.app, `rnike-${tag}@example.com`);
  await prisma.user.update({ where: { id: lookalike.user.id }, data: { emailVerifiedAt: new Date() } });

  f.idp.next = account(`mike-${tag}@example.com`);
  const { landed } = await f.signIn('trusted');
  t.equal(errorOf(landed), 'email_taken', 'the look-alike address signs nobody in, as a registration of it would fail');
  t.equal(await prisma.identity.count(), 0, 'no identity was linked to the look-alike account');
  t.equal(await prisma.user.count(), 1, 'and no account was made beside it');
  t.equal((await login(f.app, lookalike.email)).res.statusCode, 200, "the look-alike account's owner is untouched");
});

t.test('an account made through a provider that verified the email starts with its address verified', async (t) => {
  const f = await federationFixture(t);
  const email = `made-${unique()}@example.com`;
  f.idp.next = account(email);
  const { browser } = await f.signIn('local');
  const { body, claims } = await f.refresh(browser);
  t.equal(claims!.email_verified, true, 'the access token says email_verified');
  t.equal((await me(f.app, body.access_token as string)).json().email_verified, true, '/auth/me says so too');
});

t.test(
  "pre-account takeover: the reclaim also removes the earlier holder's authenticator app, recovery codes and passkey",
  async (t) => {
    const f = await federationFixture(t, { env: PASSKEY_ENV });
    const prisma = f.db.database.prisma;
    const victimEmail = `victim-${unique()}@example.com`;
    const squatted = await register(f.app, victimEmail, ATTACKER_PASSWORD);
    const attacker = await login(f.app, victimEmail, ATTACKER_PASSWORD);
    // The attacker adds an authenticator app (with its recovery codes) and a passkey of their own.
    const { factor_id, secret } = await enrol(f.app, attacker.accessToken);
    const confirmed = await confirm(f.app, attacker.accessToken, factor_id, codeAt(secret, f.clock.now()));
    t.equal(confirmed.statusCode, 200, "the attacker's app is confirmed");
    f.clock.advance(30);
    const key = new SoftAuthenticator({ origin: SPA_ORIGIN });
    const stepped = await f.app.inject({
      method: 'POST',
      url: '/auth/step-up',
      headers: bearer(attacker.accessToken),
      payload: { factor_id, code: codeAt(secret, f.clock.now()) },
    });
    await addPasskey(f.app, stepped.json().access_token, key);

    f.idp.next = account(victimEmail);
    const victim = await f.signIn('trusted');
    t.equal(errorOf(victim.landed), null, 'the owner of the address signs in');
    const victimToken = await f.refresh(victim.browser);
    t.equal(victimToken.status, 200, 'with a session at once: no second step set by the attacker holds them');
    t.equal(victimToken.claims?.sub, squatted.user.id, 'in the account that holds the address');
    const where = { where: { userId: squatted.user.id } };
    t.equal(await prisma.mfaFactor.count(where), 0, "the attacker's authenticator app is gone");
    t.equal(await prisma.mfaRecoveryCode.count(where), 0, "the attacker's recovery codes are gone");
    t.equal(await prisma.webauthnCredential.count(where), 0, "the attacker's passkey is gone");
    const options = await f.app.inject({ method: 'POST', url: '/auth/passkeys/sign-in/options', payload: {} });
    const byKey = await f.app.inject({
      method: 'POST',
      url: '/auth/passkeys/sign-in/verify',
      payload: { challenge_id: options.json().challenge_id, response: key.assert(options.json().options) },
    });
    expectError(t, byKey, 'passkey_sign_in_failed', "the attacker's passkey no longer signs in");
  },
);
