// Changing the address end to end through HTTP and a real SMTP server: the current password or a recent login,
// a confirmation to the new address and a notice to the old; the change happens only on confirmation; the old
// address gets an undo link that restores it and ends every session.
import t from 'tap';
import { buildTestApp, expectError, login, me, PASSWORD, refresh, register, uniqueEmail } from '../helper.js';
import { mailEnv, startSmtp, tokenFrom } from '../mail-smtp.js';
import { federationFixture } from '../federation-fixture.js';
import { holdNext } from '../held-hasher.js';

const INTRUDER_PASSWORD = 'the intruder set this one';

t.test('a change is confirmed from the new address, announced to the old, and undone from the old', async (t) => {
  const smtp = await startSmtp(t);
  const { app, clock } = await buildTestApp(t, {
    env: mailEnv(smtp, {
      EMAIL_CHANGE_URL: 'https://app.example.com/email/confirm',
      EMAIL_CHANGE_UNDO_URL: 'https://app.example.com/email/undo',
    }),
  });
  const { email: oldEmail } = await register(app);
  await smtp.waitFor(1);
  clock.advance(600); // the login below is recent; the password is asked for all the same
  const s = await login(app, oldEmail);
  const newEmail = uniqueEmail();
  const asked = await app.inject({
    method: 'POST',
    url: '/auth/email/change',
    headers: { authorization: `Bearer ${s.accessToken}` },
    payload: { new_email: newEmail, current_password: PASSWORD },
  });
  t.equal(asked.statusCode, 202, 'the change request with the current password is accepted');
  t.match(
    asked.json(),
    { status: 'accepted', message: /link to confirm it/ },
    'the answer is JSON that says what happens next, in words for the user',
  );
  await smtp.waitFor(3);
  const confirmation = smtp.to(newEmail)[0]!;
  const notice = smtp.to(oldEmail).find((m) => /requested/.test(m.subject))!;
  t.match(
    confirmation.text,
    /^https:\/\/app\.example\.com\/email\/confirm\?token=/m,
    'the new address gets the confirmation link to EMAIL_CHANGE_URL',
  );
  t.match(notice.text, new RegExp(newEmail.replace(/[.]/g, '\\.')), 'the old address is told which new one');
  t.notMatch(notice.text, /token=/, 'the notice has no link');
  t.equal((await me(app, s.accessToken)).json().email, oldEmail, 'nothing changes before confirmation');

  const confirmed = await app.inject({
    method: 'POST',
    url: '/auth/email/confirm',
    payload: { token: tokenFrom(confirmation) },
  });
  t.equal(confirmed.statusCode, 204, 'the confirmation link is accepted');
  const after = (await me(app, s.accessToken)).json();
  t.equal(after.email, newEmail, 'the account now has the new address');
  t.equal(after.email_verified, true, 'the link proved the new address');
  t.equal(
    (
      await app.inject({ method: 'POST', url: '/auth/email/confirm', payload: { token: tokenFrom(confirmation) } })
    ).json().code,
    'email_token_invalid',
    'once only',
  );
  await login(app, newEmail);

  await smtp.waitFor(4);
  const done = smtp.to(oldEmail).find((m) => /was changed/.test(m.subject))!;
  t.match(
    done.text,
    /^https:\/\/app\.example\.com\/email\/undo\?token=/m,
    'the old address gets the undo link to EMAIL_CHANGE_UNDO_URL',
  );
  const undone = await app.inject({ method: 'POST', url: '/auth/email/undo', payload: { token: tokenFrom(done) } });
  t.equal(undone.statusCode, 204, 'the undo link is accepted');
  t.equal((await refresh(app, s.refresh)).json().code, 'session_revoked', 'every session ended');
  const gone = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: newEmail, password: PASSWORD },
  });
  t.equal(gone.json().code, 'invalid_credentials', 'the new address no longer opens the account');
});

t.test('a change needs the current password or a recent login', async (t) => {
  const smtp = await startSmtp(t);
  const { app, clock } = await buildTestApp(t, { env: mailEnv(smtp, { RECENT_LOGIN_SECONDS: '300' }) });
  const { email } = await register(app);
  const { accessToken } = await login(app, email);
  const change = (payload: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: '/auth/email/change',
      headers: { authorization: `Bearer ${accessToken}` },
      payload,
    });

  t.equal((await change({ new_email: uniqueEmail() })).statusCode, 202, 'a recent login is enough');
  clock.advance(301);
  const stale = await change({ new_email: uniqueEmail() });
  t.equal(stale.statusCode, 403, 'a change with a 301 s old login and no password is refused');
  t.equal(stale.json().code, 'reauthentication_required', 'the refusal asks for a new login');
  t.equal(
    (await change({ new_email: uniqueEmail(), current_password: 'not the password' })).json().code,
    'current_password_incorrect',
    'a wrong current password is refused',
  );
  t.equal(
    (await change({ new_email: uniqueEmail(), current_password: PASSWORD })).statusCode,
    202,
    'the right current password is enough after the login grew old',
  );
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/email/change', payload: { new_email: uniqueEmail() } })).json()
      .code,
    'missing_token',
    'a change needs an access token',
  );
});

t.test(
  'a confirmation whose address was taken meanwhile is refused with email_taken, and changes nothing',
  async (t) => {
    const smtp = await startSmtp(t);
    const { app } = await buildTestApp(t, { env: mailEnv(smtp) });
    const { email } = await register(app);
    const { accessToken } = await login(app, email);
    const wanted = uniqueEmail();
    await app.inject({
      method: 'POST',
      url: '/auth/email/change',
      headers: { authorization: `Bearer ${accessToken}` },
      payload: { new_email: wanted, current_password: PASSWORD },
    });
    await smtp.waitFor(3);
    await register(app, wanted);
    const res = await app.inject({
      method: 'POST',
      url: '/auth/email/confirm',
      payload: { token: tokenFrom(smtp.to(wanted)[0]!) },
    });
    t.equal(res.statusCode, 409, 'confirming an address taken meanwhile is refused');
    t.equal(res.json().code, 'email_taken', 'the refusal says the address is taken');
    t.equal((await me(app, accessToken)).json().email, email, 'the account keeps its old address');
  },
);

t.test(
  'an address that has an account gets the same answer as a free one; its owner is told, and nothing is sent to it to confirm',
  async (t) => {
    const smtp = await startSmtp(t);
    const { app } = await buildTestApp(t, { env: mailEnv(smtp) });
    const { email, user } = await register(app);
    const victim = await register(app, 'rnike@example.com');
    const { accessToken } = await login(app, email);
    await smtp.waitFor(2); // the two verification messages
    const before = smtp.received.length;
    const change = (newEmail: string) =>
      app.inject({
        method: 'POST',
        url: '/auth/email/change',
        headers: { authorization: `Bearer ${accessToken}` },
        payload: { new_email: newEmail, current_password: PASSWORD },
      });
    const free = uniqueEmail();
    const answers = {
      free: await change(free),
      taken: await change(victim.email),
      takenUpperCase: await change(victim.email.toUpperCase()),
      lookAlike: await change('mike@example.com'),
    };
    for (const [what, res] of Object.entries(answers)) {
      t.equal(res.statusCode, 202, `${what}: the request is accepted, as for any address`);
      t.equal(res.body, answers.free.body, `${what}: with the same body as a free address`);
      t.same(
        Object.keys(res.headers).sort(),
        Object.keys(answers.free.headers).sort(),
        `${what}: and the same headers`,
      );
    }
    await smtp.waitFor(before + 8); // a confirmation + 3 notices to the victim + 4 notices to the asker
    t.equal(smtp.to(free).length, 1, 'the free address gets its confirmation link');
    const toVictim = smtp.to(victim.email).filter((m) => !/Confirm your email address/.test(m.subject));
    t.equal(toVictim.length, 3, 'the owner of the taken address is told, once per attempt (look-alike included)');
    for (const m of toVictim) {
      t.match(m.subject, /Someone asked to use your/, 'the owner is told someone asked to use the address');
      t.notMatch(m.text, /token=/, 'the notice to the owner carries no link');
    }
    t.equal(smtp.to('mike@example.com').length, 0, 'nothing goes to the look-alike address');
    t.equal(
      smtp.to(email).filter((m) => /requested/.test(m.subject)).length,
      4,
      "the asker's own address gets the same notice whatever the address asked for",
    );
    const tokens = await app.services.database.prisma.emailToken.count({
      where: { userId: user.id, purpose: 'email_change' },
    });
    t.equal(tokens, 1, 'only the free address got a confirmation token');
  },
);

t.test(
  "look-alikes of one address can't flood its owner: the notices stop at the owner's hourly allowance, the answers don't change",
  async (t) => {
    const smtp = await startSmtp(t);
    const { app } = await buildTestApp(t, { env: mailEnv(smtp, { MAIL_PER_EMAIL_PER_HOUR: '5' }) });
    const { email } = await register(app);
    const victim = await register(app, 'rnille@example.com');
    const { accessToken } = await login(app, email);
    const lookAlikes = [
      'mille@example.com',
      'rni1le@example.com',
      'mil1e@example.com',
      'rnil1e@example.com',
      'mi1le@example.com',
      'mille@exarnple.com',
      'rnille@exarnple.com',
      'mille@example.corn',
    ];
    const replies = await Promise.all(
      lookAlikes.map((new_email) =>
        app.inject({
          method: 'POST',
          url: '/auth/email/change',
          headers: { authorization: `Bearer ${accessToken}` },
          payload: { new_email, current_password: PASSWORD },
          remoteAddress: `203.0.113.${lookAlikes.indexOf(new_email) + 1}`,
        }),
      ),
    );
    t.ok(
      replies.every((r) => r.statusCode === 202),
      'every request is answered 202, whatever the owner was sent',
    );
    const notices = await app.services.database.prisma.mailMessage.count({
      where: { kind: 'email_change_taken', recipient: victim.email },
    });
    t.equal(notices, 5, 'the owner gets MAIL_PER_EMAIL_PER_HOUR notices, not one per look-alike');
  },
);

t.test(
  'undoing a change gives the account back: the password the intruder set by a reset to the new address, their identity and their sessions stop working',
  async (t) => {
    const smtp = await startSmtp(t);
    const f = await federationFixture(t, { env: mailEnv(smtp) });
    const { app } = f;
    const prisma = f.db.database.prisma;
    const owner = await register(app);
    await smtp.waitFor(1);
    // The intruder has the owner's password (phished) and moves the account to an address of their own.
    const intruder = await login(app, owner.email);
    const intruderAddress = uniqueEmail();
    await app.inject({
      method: 'POST',
      url: '/auth/email/change',
      headers: { authorization: `Bearer ${intruder.accessToken}` },
      payload: { new_email: intruderAddress, current_password: PASSWORD },
    });
    await smtp.waitFor(3);
    const confirmed = await app.inject({
      method: 'POST',
      url: '/auth/email/confirm',
      payload: { token: tokenFrom(smtp.to(intruderAddress)[0]!) },
    });
    t.equal(confirmed.statusCode, 204, 'the intruder confirms the change');
    // Then sets a password of their own through a reset mailed to the new address, and links an identity.
    await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: intruderAddress } });
    await smtp.waitFor(5);
    const resetMail = smtp.to(intruderAddress).find((m) => /Reset/.test(m.subject))!;
    const reset = await app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: tokenFrom(resetMail), new_password: INTRUDER_PASSWORD },
    });
    t.equal(reset.statusCode, 204, 'the intruder resets the password through the new address');
    const again = await login(app, intruderAddress, INTRUDER_PASSWORD);
    const intrudersIdentity = { sub: `intruder-${Date.now()}`, email: intruderAddress, email_verified: true };
    t.equal(
      (await f.linkIdentity(again.accessToken, intrudersIdentity)).searchParams.get('error'),
      null,
      'and links one',
    );

    await smtp.waitFor(6);
    const undoMail = smtp.to(owner.email).find((m) => /was changed/.test(m.subject))!;
    const undone = await app.inject({
      method: 'POST',
      url: '/auth/email/undo',
      payload: { token: tokenFrom(undoMail) },
    });
    t.equal(undone.statusCode, 204, 'the owner follows the undo link');

    for (const [email, password, what] of [
      [owner.email, INTRUDER_PASSWORD, "the intruder's password, at the restored address"],
      [intruderAddress, INTRUDER_PASSWORD, "the intruder's password, at the intruder's address"],
      [owner.email, PASSWORD, 'the old password the intruder knew'],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
      expectError(t, res, 'invalid_credentials', `${what} no longer opens the account`);
    }
    expectError(t, await refresh(app, again.refresh), 'session_revoked', "the intruder's session is ended");
    f.idp.next = intrudersIdentity;
    const viaIdentity = await f.signIn('local');
    t.not(
      (await f.refresh(viaIdentity.browser)).claims?.sub,
      owner.user.id,
      "the identity the intruder linked no longer opens the owner's account",
    );
    t.equal(await prisma.identity.count({ where: { userId: owner.user.id } }), 0, 'it was removed from the account');

    await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: owner.email } });
    const ownerReset = await smtp
      .waitFor(smtp.received.length + 1)
      .then(() => smtp.to(owner.email).filter((m) => /Reset/.test(m.subject)));
    const ownerSet = await app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: tokenFrom(ownerReset.at(-1)!), new_password: 'the owner starts again' },
    });
    t.equal(ownerSet.statusCode, 204, 'the owner sets a new password through the restored address');
    t.equal((await login(app, owner.email, 'the owner starts again')).res.statusCode, 200, 'and is back in');
  },
);

t.test(
  "20 uses of the intruder's reset link racing the undo: the intruder's password never opens the account",
  async (t) => {
    const smtp = await startSmtp(t);
    const { app } = await buildTestApp(t, { env: mailEnv(smtp) });
    const owner = await register(app);
    await smtp.waitFor(1);
    const intruder = await login(app, owner.email);
    const intruderAddress = uniqueEmail();
    await app.inject({
      method: 'POST',
      url: '/auth/email/change',
      headers: { authorization: `Bearer ${intruder.accessToken}` },
      payload: { new_email: intruderAddress, current_password: PASSWORD },
    });
    await smtp.waitFor(3);
    await app.inject({
      method: 'POST',
      url: '/auth/email/confirm',
      payload: { token: tokenFrom(smtp.to(intruderAddress)[0]!) },
    });
    await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: intruderAddress } });
    await smtp.waitFor(5);
    const resetToken = tokenFrom(smtp.to(intruderAddress).find((m) => /Reset/.test(m.subject))!);
    const undoToken = tokenFrom(smtp.to(owner.email).find((m) => /was changed/.test(m.subject))!);

    const [undone, ...resets] = await Promise.all([
      app.inject({ method: 'POST', url: '/auth/email/undo', payload: { token: undoToken } }),
      ...Array.from({ length: 20 }, () =>
        app.inject({
          method: 'POST',
          url: '/auth/password/reset',
          payload: { token: resetToken, new_password: INTRUDER_PASSWORD },
        }),
      ),
    ]);
    t.equal(undone!.statusCode, 204, 'the undo succeeds whatever the order');
    t.ok(resets.filter((r) => r.statusCode === 204).length <= 1, 'the reset link works once at most');
    for (const email of [owner.email, intruderAddress]) {
      const res = await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password: INTRUDER_PASSWORD },
      });
      expectError(t, res, 'invalid_credentials', `the intruder's password does not open the account (${email})`);
    }
  },
);

t.test('a change asked from a session that ends while its password is checked asks for nothing', async (t) => {
  const smtp = await startSmtp(t);
  const { app } = await buildTestApp(t, {
    env: mailEnv(smtp, {
      EMAIL_CHANGE_URL: 'https://app.example.com/email/confirm',
      EMAIL_CHANGE_UNDO_URL: 'https://app.example.com/email/undo',
    }),
  });
  const { email, user } = await register(app);
  const intruder = await login(app, email);
  const owner = await login(app, email);
  const held = holdNext(t, app, 'verify');
  const prisma = app.services.database.prisma;
  const tokensBefore = await prisma.emailToken.count({ where: { userId: user.id, purpose: 'email_change' } });
  const asking = app.inject({
    method: 'POST',
    url: '/auth/email/change',
    headers: { authorization: `Bearer ${intruder.accessToken}` },
    payload: { new_email: uniqueEmail(), current_password: PASSWORD },
  });
  await held.reached;
  // While the intruder's password is being checked, the owner signs out everywhere (a reset does too).
  const ended = await app.inject({
    method: 'POST',
    url: '/auth/logout-all',
    headers: { authorization: `Bearer ${owner.accessToken}` },
  });
  t.ok(ended.statusCode < 300, 'every session ends meanwhile');
  held.release();
  expectError(t, await asking, 'session_revoked', 'the request of the session that ended is refused');
  t.equal(
    await prisma.emailToken.count({ where: { userId: user.id, purpose: 'email_change' } }),
    tokensBefore,
    'no confirmation link was made',
  );
});
