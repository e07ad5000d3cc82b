// Forgot password end to end through HTTP and a real SMTP server: the link in the received email resets the
// password, ends every session, and a "password changed" notice follows. Tokens are single-use (also under 50
// concurrent uses), expire, and are bound to their purpose.
import t, { type Test } from 'tap';
import { buildTestApp, expectError, login, me, PASSWORD, refresh, register, session, uniqueEmail } from '../helper.js';
import { federationFixture } from '../federation-fixture.js';
import { mailEnv, startSmtp, tokenFrom } from '../mail-smtp.js';

const NEW_PASSWORD = 'a brand new passphrase';

async function setup(t: Test, extra: Record<string, string> = {}) {
  const smtp = await startSmtp(t);
  const built = await buildTestApp(t, { env: mailEnv(smtp, extra) });
  return { smtp, ...built };
}

t.test(
  'a forgotten password is reset by following the emailed link; every session ends and a notice follows',
  async (t) => {
    const { app, smtp } = await setup(t);
    const s = await session(app);
    const other = await login(app, s.email);
    await smtp.waitFor(1); // the verification link sent at registration
    smtp.received.length = 0;

    const forgot = await app.inject({
      method: 'POST',
      url: '/auth/password/forgot',
      payload: { email: s.email.toUpperCase() },
    });
    t.equal(forgot.statusCode, 202, 'forgot-password is accepted with 202');
    t.equal(forgot.json().status, 'accepted', 'the answer says only that the request was accepted');
    const [mail] = await smtp.waitFor(1);
    t.equal(mail!.to, s.email, "the reset mail goes to the account's address as registered, whatever the case typed");
    t.match(mail!.subject, /Reset your Tessera password/, 'the reset mail says what it is for in its subject');
    t.match(
      mail!.text,
      /^https:\/\/app\.example\.com\/reset\?token=[\w-]{43}$/m,
      'the link points at PASSWORD_RESET_URL',
    );
    t.match(mail!.html, /href="https:\/\/app\.example\.com\/reset\?token=/, 'an HTML part too');
    const token = tokenFrom(mail!);

    const reset = await app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token, new_password: NEW_PASSWORD },
    });
    t.equal(reset.statusCode, 204, 'the emailed token resets the password');
    t.equal((await refresh(app, s.refresh)).json().code, 'session_revoked', 'the first session ended');
    t.equal((await refresh(app, other.refresh)).json().code, 'session_revoked', 'the second session ended');
    const oldLogin = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: s.email, password: PASSWORD },
    });
    t.equal(oldLogin.json().code, 'invalid_credentials', 'the old password no longer works');
    await login(app, s.email, NEW_PASSWORD);

    const [, notice] = await smtp.waitFor(2);
    t.equal(notice!.to, s.email, "the password-changed notice goes to the account's address");
    t.match(notice!.subject, /password was changed/, "the notice's subject says the password was changed");
    t.notMatch(notice!.text, /token=/, 'the notice carries no link with a token');

    const again = await app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token, new_password: 'yet another passphrase' },
    });
    t.equal(again.statusCode, 400, 'the spent reset token is refused');
    t.equal(again.json().code, 'email_token_invalid', 'a used token is refused');
  },
);

t.test('a reset token works once: 50 concurrent uses, exactly one succeeds', async (t) => {
  const { app, smtp } = await setup(t, { EMAIL_VERIFY_TTL_SECONDS: '300' });
  const { email } = await register(app);
  await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
  await smtp.waitFor(2);
  const token = tokenFrom(smtp.received.find((m) => /Reset/.test(m.subject))!);
  const replies = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      app.inject({
        method: 'POST',
        url: '/auth/password/reset',
        payload: { token, new_password: `${NEW_PASSWORD} ${i}` },
      }),
    ),
  );
  const ok = replies.filter((r) => r.statusCode === 204);
  t.equal(ok.length, 1, 'exactly one reset');
  t.same(
    [...new Set(replies.filter((r) => r.statusCode !== 204).map((r) => r.json().code))],
    ['email_token_invalid'],
    'the rest are refused',
  );
  const winner = replies.indexOf(ok[0]!);
  await login(app, email, `${NEW_PASSWORD} ${winner}`);
});

t.test(
  'an expired, a wrong-purpose, an unknown, or a superseded token is refused with email_token_invalid',
  async (t) => {
    const { app, smtp, clock } = await setup(t, { PASSWORD_RESET_TTL_SECONDS: '600' });
    const { email } = await register(app);
    const [verification] = await smtp.waitFor(1);
    const reset = (token: string) =>
      app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, new_password: NEW_PASSWORD } });

    const wrongPurpose = await reset(tokenFrom(verification!));
    t.equal(wrongPurpose.json().code, 'email_token_invalid', 'a verification token does not reset a password');
    const verify = await app.inject({
      method: 'POST',
      url: '/auth/verify-email',
      payload: { token: tokenFrom(verification!) },
    });
    t.equal(verify.statusCode, 204, 'and the refused attempt did not spend it for its own purpose');

    await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
    await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
    const mails = await smtp.waitFor(3);
    const first = tokenFrom(mails[1]!);
    const second = tokenFrom(mails[2]!);
    const wrongWay = await app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token: first } });
    t.equal(wrongWay.json().code, 'email_token_invalid', 'a reset token does not verify an address');

    clock.advance(601);
    t.equal((await reset(first)).json().code, 'email_token_invalid', 'expired');
    t.equal((await reset('A'.repeat(43))).json().code, 'email_token_invalid', 'unknown');
    t.equal((await reset('short')).json().code, 'invalid_request', 'malformed');

    clock.advance(-601);
    t.equal((await reset(second)).statusCode, 204, 'an unexpired one works');
    t.equal((await reset(first)).json().code, 'email_token_invalid', 'a reset spends every other reset link');
  },
);

t.test('a reset clears the login throttle of the address it came from', async (t) => {
  const { app, smtp } = await setup(t);
  const { email } = await register(app);
  for (let i = 0; i < 7; i++) {
    await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'wrong password here' } });
  }
  const locked = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  t.equal(locked.json().code, 'too_many_requests', 'locked out by failures');
  await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
  const mails = await smtp.waitFor(2);
  const reset = await app.inject({
    method: 'POST',
    url: '/auth/password/reset',
    payload: { token: tokenFrom(mails[1]!), new_password: NEW_PASSWORD },
  });
  t.equal(reset.statusCode, 204, 'the reset link works while the login is locked out');
  await login(app, email, NEW_PASSWORD);
});

t.test('an unknown address gets the same 202 and no mail', async (t) => {
  const { app, smtp, db } = await setup(t);
  const res = await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: uniqueEmail() } });
  t.equal(res.statusCode, 202, 'an unknown address gets the same 202');
  await app.mailWorker!.runOnce();
  t.equal(smtp.received.length, 0, 'no mail is sent for an unknown address');
  t.equal(await db.database.prisma.mailMessage.count(), 0, 'nothing in the outbox');
  t.equal(await db.database.prisma.emailToken.count(), 0, 'no token kept');
  const bad = await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: 'not an address' } });
  t.equal(bad.json().code, 'invalid_email', 'an invalid address is refused as invalid_email');
});

t.test(
  "a reset spends every pending link of the account: an intruder's email-change confirmation no longer takes the address",
  async (t) => {
    const { app, smtp } = await setup(t);
    const owner = await session(app);
    await smtp.waitFor(1);
    // Someone with a session of the owner's asks to move the account to their own address.
    const intruderAddress = uniqueEmail();
    const asked = await app.inject({
      method: 'POST',
      url: '/auth/email/change',
      headers: { authorization: `Bearer ${owner.accessToken}` },
      payload: { new_email: intruderAddress, current_password: PASSWORD },
    });
    t.equal(asked.statusCode, 202, 'the change is asked for');
    await smtp.waitFor(3);
    const confirmation = tokenFrom(smtp.to(intruderAddress)[0]!);

    await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: owner.email } });
    const [resetMail] = (await smtp.waitFor(4)).filter((m) => m.to === owner.email && /Reset/.test(m.subject));
    const reset = await app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: tokenFrom(resetMail!), new_password: NEW_PASSWORD },
    });
    t.equal(reset.statusCode, 204, 'the owner resets the password');

    const confirmed = await app.inject({
      method: 'POST',
      url: '/auth/email/confirm',
      payload: { token: confirmation },
    });
    expectError(t, confirmed, 'email_token_invalid', "the intruder's confirmation link is spent by the reset");
    t.equal((await login(app, owner.email, NEW_PASSWORD)).res.statusCode, 200, 'the owner keeps the address');
  },
);

t.test('a reset racing 25 uses of a pending email-change confirmation: exactly one of them wins', async (t) => {
  const { app, smtp } = await setup(t);
  const owner = await session(app);
  await smtp.waitFor(1);
  const intruderAddress = uniqueEmail();
  await app.inject({
    method: 'POST',
    url: '/auth/email/change',
    headers: { authorization: `Bearer ${owner.accessToken}` },
    payload: { new_email: intruderAddress, current_password: PASSWORD },
  });
  await smtp.waitFor(3);
  const confirmation = tokenFrom(smtp.to(intruderAddress)[0]!);
  await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: owner.email } });
  const [resetMail] = (await smtp.waitFor(4)).filter((m) => m.to === owner.email && /Reset/.test(m.subject));

  const answers = await Promise.all([
    app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: tokenFrom(resetMail!), new_password: NEW_PASSWORD },
    }),
    ...Array.from({ length: 25 }, () =>
      app.inject({ method: 'POST', url: '/auth/email/confirm', payload: { token: confirmation } }),
    ),
  ]);
  const [resetAnswer, ...confirms] = answers;
  const wins = answers.filter((r) => r.statusCode === 204).length;
  t.equal(wins, 1, 'the reset and the confirmation exclude each other: one success in all');
  for (const r of answers.filter((r) => r.statusCode !== 204))
    t.equal(r.json().code, 'email_token_invalid', 'the losers find their link spent');
  const owned = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: resetAnswer!.statusCode === 204 ? owner.email : intruderAddress, password: NEW_PASSWORD },
  });
  if (resetAnswer!.statusCode === 204)
    t.equal(owned.statusCode, 200, 'the reset won: the owner keeps address and account');
  else {
    t.equal(confirms.filter((r) => r.statusCode === 204).length, 1, 'the change won, once');
    t.equal(owned.json().code, 'invalid_credentials', 'and the reset set no password on the moved account');
  }
});

t.test(
  'a reset that first proves an unverified address removes the identity a squatter linked, and verifies the address',
  async (t) => {
    const smtp = await startSmtp(t);
    const f = await federationFixture(t, { env: mailEnv(smtp) });
    const { app } = f;
    // Someone registers the victim's address and links a provider account of their own.
    const victimEmail = uniqueEmail();
    const squatted = await register(app, victimEmail, 'the squatter chose this');
    const squatter = await login(app, victimEmail, 'the squatter chose this');
    const squattersOwn = { sub: `squatter-${Date.now()}`, email: uniqueEmail(), email_verified: true };
    t.equal((await f.linkIdentity(squatter.accessToken, squattersOwn)).searchParams.get('error'), null, 'linked');

    await smtp.waitFor(1);
    await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: victimEmail } });
    const [resetMail] = (await smtp.waitFor(2)).filter((m) => /Reset/.test(m.subject));
    const reset = await app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: tokenFrom(resetMail!), new_password: NEW_PASSWORD },
    });
    t.equal(reset.statusCode, 204, 'the owner of the address resets the password');

    f.idp.next = squattersOwn;
    const viaIdentity = await f.signIn('local');
    t.not(
      (await f.refresh(viaIdentity.browser)).claims?.sub,
      squatted.user.id,
      "the squatter's identity no longer opens the account",
    );
    expectError(t, await refresh(app, squatter.refresh), 'session_revoked', "the squatter's session is ended");
    const owner = await login(app, victimEmail, NEW_PASSWORD);
    t.equal((await me(app, owner.accessToken)).json().email_verified, true, 'the link proved the address');
  },
);
