// Email verification end to end through HTTP and a real SMTP server: the link sent at registration (and on
// request) verifies the address; access tokens and /auth/me carry email_verified; REQUIRE_VERIFIED_EMAIL
// refuses the login of an unverified user, only once the password is right.
import t from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp, login, me, PASSWORD, refresh, register, uniqueEmail } from '../helper.js';
import { mailEnv, startSmtp, tokenFrom } from '../mail-smtp.js';

t.test('the link sent at registration verifies the address; access tokens and /auth/me say so', async (t) => {
  const smtp = await startSmtp(t);
  const { app } = await buildTestApp(t, { env: mailEnv(smtp, { MAIL_PRODUCT_NAME: 'Acme ID' }) });
  const { email } = await register(app);
  const before = await login(app, email);
  t.equal(decodeJwt(before.accessToken).email_verified, false, 'the access token says unverified');
  t.equal(
    (await me(app, before.accessToken)).json().email_verified,
    false,
    '/auth/me says unverified before the link is followed',
  );

  const [mail] = await smtp.waitFor(1);
  t.equal(mail!.to, email, 'the verification mail goes to the registered address');
  t.equal(mail!.subject, 'Confirm your email address for Acme ID', 'the product name is configurable');
  t.match(mail!.text, /^https:\/\/app\.example\.com\/verify\?token=[\w-]{43}$/m, 'the link points at EMAIL_VERIFY_URL');
  const res = await app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token: tokenFrom(mail!) } });
  t.equal(res.statusCode, 204, 'the emailed link verifies the address');

  t.equal((await me(app, before.accessToken)).json().email_verified, true, '/auth/me reads it live');
  const refreshed = await refresh(app, before.refresh);
  t.equal(decodeJwt(refreshed.json().access_token).email_verified, true, 'the next access token says verified');
  const again = await app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token: tokenFrom(mail!) } });
  t.equal(again.json().code, 'email_token_invalid', 'the link works once');
});

t.test('a signed-in user asks for a new link; an expired one is refused; a verified user is told so', async (t) => {
  const smtp = await startSmtp(t);
  const { app, clock } = await buildTestApp(t, { env: mailEnv(smtp, { EMAIL_VERIFY_TTL_SECONDS: '3600' }) });
  const { email } = await register(app);
  const [first] = await smtp.waitFor(1);
  clock.advance(3601);
  const { accessToken } = await login(app, email);
  const expired = await app.inject({
    method: 'POST',
    url: '/auth/verify-email',
    payload: { token: tokenFrom(first!) },
  });
  t.equal(expired.json().code, 'email_token_invalid', 'expired');

  const asked = await app.inject({
    method: 'POST',
    url: '/auth/verify-email/request',
    headers: { authorization: `Bearer ${accessToken}` },
  });
  t.equal(asked.statusCode, 202, 'a signed-in user can ask for a new link');
  t.match(
    asked.json(),
    { status: 'accepted', message: /verification link/ },
    'the answer is JSON that says a new link is on its way',
  );
  const unauthenticated = await app.inject({ method: 'POST', url: '/auth/verify-email/request' });
  t.equal(unauthenticated.json().code, 'missing_token', 'asking for a new link needs an access token');
  const [, second] = await smtp.waitFor(2);
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token: tokenFrom(second!) } }))
      .statusCode,
    204,
    'the new link verifies the address',
  );
  const done = await app.inject({
    method: 'POST',
    url: '/auth/verify-email/request',
    headers: { authorization: `Bearer ${accessToken}` },
  });
  t.equal(done.statusCode, 409, 'a verified user asking for a link is refused');
  t.equal(done.json().code, 'email_already_verified', 'the refusal says the address is already verified');
});

t.test(
  'REQUIRE_VERIFIED_EMAIL=true refuses an unverified login with email_not_verified, and only with the right password',
  async (t) => {
    const smtp = await startSmtp(t);
    const { app } = await buildTestApp(t, { env: mailEnv(smtp, { REQUIRE_VERIFIED_EMAIL: 'true' }) });
    const { email } = await register(app);
    const wrong = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: 'not the password' },
    });
    t.equal(wrong.json().code, 'invalid_credentials', 'a wrong password learns nothing about verification');
    const refused = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
    t.equal(refused.statusCode, 403, 'the right password of an unverified user is refused');
    t.equal(refused.json().code, 'email_not_verified', 'the refusal says the email is not verified');
    t.equal(refused.headers['set-cookie'], undefined, 'no session');

    const [mail] = await smtp.waitFor(1);
    await app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token: tokenFrom(mail!) } });
    const { accessToken } = await login(app, email);
    t.equal(decodeJwt(accessToken).email_verified, true, "once verified, the login's access token says so");
  },
);

t.test('with email flows off (the test and production default without SMTP_URL) the routes do not exist', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: uniqueEmail() } });
  t.equal(res.statusCode, 404, 'with email flows off, forgot-password does not exist');
  t.equal(res.json().code, 'not_found', 'with email flows off, the route answers not_found');
  const { email } = await register(app);
  const { accessToken } = await login(app, email);
  t.equal(decodeJwt(accessToken).email_verified, false, 'the claim is there all the same');
});
