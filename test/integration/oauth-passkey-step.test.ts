// The OAuth pages' passkey step through its form, over real HTTP: the answer a page's script would post
// (passkey_challenge_id, passkey_response) to POST /oauth/authorize/mfa, with a software authenticator. One answer
// sent 20 times at the same instant completes the sign-in once: the challenge and the mfa_token are single-use,
// claimed by the same second-step call as POST /auth/mfa/verify. An unreadable answer costs no attempt.
import t from 'tap';
import * as oidc from 'openid-client';
import { session } from '../helper.js';
import { FetchBrowser, formFields, NATIVE_REDIRECT } from '../oauth-server-fixtures.js';
import { tesseraWithNativeClient } from '../oauth-page-fixtures.js';
import { SoftAuthenticator } from '../passkey-authenticator.js';
import { addPasskey } from '../passkey-fixture.js';

t.test('one passkey answer posted 20 times at once completes the OAuth second step once', async (t) => {
  const { app, db, issuer, client } = await tesseraWithNativeClient(t, { passkeys: true });
  const user = await session(app);
  const authenticator = new SoftAuthenticator({ origin: issuer });
  await addPasskey(app, user.accessToken, authenticator);

  const config = await oidc.discovery(new URL(issuer), client.id, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: NATIVE_REDIRECT,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const browser = new FetchBrowser(issuer);
  const loginHtml = await (await browser.go(url.href)).text();
  const step = await browser.post('/oauth/authorize/login', {
    ...formFields(loginHtml),
    email: user.email,
    password: user.password,
  });
  const stepHtml = await step.text();
  t.match(stepHtml, 'id="passkey-button"', 'the second step has the passkey button for the script');
  t.match(stepHtml, '<script nonce="', 'and loads the script by the page’s nonce');
  const fields = formFields(stepHtml);

  const unreadable = await browser.post('/oauth/authorize/mfa', {
    ...fields,
    passkey_challenge_id: 'x'.repeat(32),
    passkey_response: '{not json',
  });
  t.equal(unreadable.status, 400, 'an unreadable answer shows the page again');
  const guard = await db.database.prisma.mfaGuard.findUnique({ where: { userId: user.user.id } });
  t.equal(guard?.failures ?? 0, 0, 'without spending an attempt of the budget');

  const options = await app.inject({
    method: 'POST',
    url: '/auth/mfa/passkey/options',
    payload: { mfa_token: fields.mfa_token },
  });
  t.equal(options.statusCode, 200, 'the script’s options call answers');
  const { challenge_id, options: requestOptions } = options.json();
  const answer = JSON.stringify(authenticator.assert(requestOptions));
  const posts = await Promise.all(
    Array.from({ length: 20 }, () =>
      browser.post('/oauth/authorize/mfa', { ...fields, passkey_challenge_id: challenge_id, passkey_response: answer }),
    ),
  );
  const pages = await Promise.all(posts.map(async (r) => ({ status: r.status, html: await r.text() })));
  const consent = pages.filter((p) => p.html.includes('action="/oauth/authorize/consent"'));
  t.equal(consent.length, 1, 'exactly one of the 20 posts signs in and reaches consent');
  t.ok(
    pages.filter((p) => p !== consent[0]).every((p) => p.status >= 400),
    'every other post is refused (the challenge and the sign-in step are spent)',
  );
  t.equal(
    await db.database.prisma.session.count({ where: { userId: user.user.id, revokedAt: null } }),
    2,
    'one session more than the password sign-in that added the passkey: the step completed once',
  );
});
