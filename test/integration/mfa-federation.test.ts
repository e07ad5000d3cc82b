// The second step after a sign-in with a provider, against a real OpenID provider (test/federation-idp.ts): an
// account with a factor gets no session from the callback, only the mfa challenge in the fragment of return_to
// (never in the query, never in a log line), and the SPA completes the sign-in with POST /auth/mfa/verify.
import t from 'tap';
import { federationFixture, RETURN_TO } from '../federation-fixture.js';
import { expectError, REFRESH_COOKIE, uniqueEmail } from '../helper.js';
import { bearer, claimsOf, codeAt, confirm, enrol, verify } from '../mfa-fixture.js';

t.test('a provider sign-in of an account with a factor hands the SPA an mfa_token in the fragment', async (t) => {
  const f = await federationFixture(t, { captureLogs: true });
  const email = uniqueEmail();
  const account = { sub: `mfa-subject-${Date.now()}`, email, email_verified: true };
  f.idp.next = account;
  const first = await f.signIn();
  const { body } = await f.refresh(first.browser);
  const accessToken = body.access_token as string;
  const { factor_id, secret } = await enrol(f.app, accessToken);
  const confirmed = await confirm(f.app, accessToken, factor_id, codeAt(secret, f.clock.now()));
  t.equal(confirmed.statusCode, 200, 'the provider account enrols an authenticator app');
  const recoveryCodes = confirmed.json().recovery_codes as string[];

  f.idp.next = account;
  const { browser, landed } = await f.signIn();
  t.equal(landed.origin + landed.pathname, RETURN_TO, 'the browser lands on return_to');
  t.equal(landed.search, '', 'nothing in the query string, which servers, logs and Referer headers see');
  const fragment = new URLSearchParams(landed.hash.slice(1));
  t.equal(fragment.get('mfa_required'), 'true', 'the fragment says a second step is due');
  const mfaToken = fragment.get('mfa_token')!;
  t.ok(mfaToken && mfaToken.length >= 43, 'and carries the mfa_token');
  t.equal(fragment.get('factors'), `${factor_id}:totp`, 'and the factors to offer, as factor_id:type');
  t.notOk(
    browser.cookie(new URL(f.tessera).host, REFRESH_COOKIE),
    'no refresh cookie before the second step: the provider alone opens nothing',
  );
  t.equal((await f.refresh(browser)).status, 401, 'so the SPA cannot refresh its way into a session');
  t.notOk(
    f.rawLogs.some((line) => line.includes(mfaToken)),
    'the mfa_token is in no log line (the callback logs no Location header)',
  );

  const wrong = await verify(f.app, { mfa_token: mfaToken, factor_id, code: '000000' });
  expectError(t, wrong, 'mfa_code_invalid', 'a wrong code is refused as after a password');
  const done = await verify(f.app, { mfa_token: mfaToken, recovery_code: recoveryCodes[0]! });
  t.equal(done.statusCode, 200, 'a recovery code completes the sign-in');
  const claims = claimsOf(done.json().access_token);
  t.same(claims.amr, ['mfa'], 'amr: the provider has no RFC 8176 value, the second step adds mfa');
  t.equal(claims.acr, '2', 'acr 2: two factors');
  t.equal(claims.idp, 'local', 'the token still names the provider');
  t.ok(
    done.cookies.some((c) => c.name === REFRESH_COOKIE),
    'the refresh cookie comes with the second step, as after a password',
  );
  const again = await verify(f.app, { mfa_token: mfaToken, recovery_code: recoveryCodes[1]! });
  expectError(t, again, 'mfa_token_invalid', 'the mfa_token was single use');
  const me = await f.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(done.json().access_token) });
  t.equal(me.json().email, email, 'the session is the provider account’s');
});

t.test('setting a first password on a provider account with a factor needs a recent second factor', async (t) => {
  const f = await federationFixture(t);
  f.idp.next = { sub: `first-password-${Date.now()}`, email: uniqueEmail(), email_verified: true };
  const { body } = await f.refresh((await f.signIn()).browser);
  const accessToken = body.access_token as string;
  const { factor_id, secret } = await enrol(f.app, accessToken);
  const confirmed = await confirm(f.app, accessToken, factor_id, codeAt(secret, f.clock.now()));
  t.equal(confirmed.statusCode, 200, 'the provider account enrols an authenticator app');
  const first = (token: string) =>
    f.app.inject({
      method: 'POST',
      url: '/auth/password/first',
      headers: bearer(token),
      payload: { new_password: 'a first password of my own' },
    });
  expectError(t, await first(accessToken), 'step_up_required', 'a recent provider sign-in alone is not enough');
  f.clock.advance(30);
  const up = await f.app.inject({
    method: 'POST',
    url: '/auth/step-up',
    headers: bearer(accessToken),
    payload: { factor_id, code: codeAt(secret, f.clock.now()) },
  });
  t.equal(up.statusCode, 200, 'the step-up succeeds');
  t.equal((await first(up.json().access_token)).statusCode, 204, 'with a recent second factor the password is set');
});
