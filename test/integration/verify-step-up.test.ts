// @tessera/verify demanding a step-up (RFC 9470), as a resource service uses it: a Fastify service with
// tesseraAuth in front of a listening Tessera (real JWKS over HTTP). A route that needs acr "2" within a max
// age refuses a password-only token with 401 insufficient_user_authentication naming acr_values and max_age,
// and accepts the token POST /auth/step-up hands out.
import t from 'tap';
import Fastify from 'fastify';
import { tesseraAuth } from '@tessera/verify';
import { buildTestApp, ManualClock, register } from '../helper.js';
import { bearer, codeAt, withTotp } from '../mfa-fixture.js';

t.test('a route demanding acr 2 and a max age asks for a step-up, and takes the stepped-up token', async (t) => {
  const clock = new ManualClock(new Date());
  const { app, config } = await buildTestApp(t, { clock });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);

  const service = Fastify();
  t.teardown(() => service.close());
  await service.register(tesseraAuth, {
    issuer: config.issuer,
    audience: config.audience,
    jwksUrl: `${address}/.well-known/jwks.json`,
  });
  service.post('/transfer', { preHandler: service.requireAuth({ acrValues: ['2'], maxAge: 300 }) }, async (req) => ({
    by: req.auth!.sub,
  }));
  const transfer = (token: string) => service.inject({ method: 'POST', url: '/transfer', headers: bearer(token) });

  const refused = await transfer(f.accessToken);
  t.equal(refused.statusCode, 401, 'a password-only token is refused with 401');
  t.equal(refused.json().code, 'insufficient_user_authentication', 'naming insufficient_user_authentication');
  t.match(
    refused.headers['www-authenticate'],
    /^Bearer error="insufficient_user_authentication", .*acr_values="2", max_age=300$/,
    'the challenge names acr_values and max_age, as RFC 9470 says',
  );

  const up = await app.inject({
    method: 'POST',
    url: '/auth/step-up',
    headers: bearer(f.accessToken),
    payload: { factor_id: f.factorId, code: codeAt(f.secret, clock.now()) },
  });
  t.equal(up.statusCode, 200, 'Tessera steps the session up');
  const ok = await transfer(up.json().access_token);
  t.equal(ok.statusCode, 200, 'the stepped-up token passes the demand');
  t.equal(
    ok.json().by,
    up.json().access_token && JSON.parse(Buffer.from(up.json().access_token.split('.')[1], 'base64url').toString()).sub,
    'for the same user',
  );
});
