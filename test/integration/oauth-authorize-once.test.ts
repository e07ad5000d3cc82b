// Rules of /oauth/authorize that make an authorization request a one-time thing: one approval (however often or
// in parallel its form is posted) mints one code; HEAD spends nothing; a pushed request's prompt and max_age are
// the pushed ones on every page, never the form's; and a public client's pushes are limited per address, so
// nobody can spend its budget and lock its users out.
import t from 'tap';
import { buildTestApp, register, type TestApp } from '../helper.js';
import {
  Browser,
  FORM,
  authorizeQuery,
  formFields,
  pkce,
  redirectParams,
  registerClient,
} from '../oauth-server-fixtures.js';

const isPage = (body: string, code: string) => body.includes(`data-code="${code}"`);

async function push(
  app: TestApp,
  clientId: string,
  challenge: string,
  extra: Record<string, string> = {},
  ip?: string,
) {
  return app.inject({
    method: 'POST',
    url: '/oauth/par',
    headers: FORM,
    payload: authorizeQuery(clientId, challenge, extra),
    ...(ip ? { remoteAddress: ip } : {}),
  });
}
const byUri = (clientId: string, requestUri: string) =>
  `/oauth/authorize?${new URLSearchParams({ client_id: clientId, request_uri: requestUri })}`;

t.test('one approval posted 20 times at once mints exactly one code for the authorization request', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const browser = new Browser(app);
  const { challenge } = pkce();
  const login = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  const consent = await browser.signIn(login, user.email);
  t.ok(consent.body.includes('/oauth/authorize/consent'), 'the consent page is shown after the sign-in');
  const fields = { ...formFields(consent.body), decision: 'allow' };
  const answers = await Promise.all(Array.from({ length: 20 }, () => browser.post('/oauth/authorize/consent', fields)));
  const coded = answers.filter((r) => r.statusCode === 303 && redirectParams(r).get('code'));
  t.equal(coded.length, 1, 'exactly one of 20 identical approvals redirects with a code');
  t.ok(
    answers
      .filter((r) => !coded.includes(r))
      .every((r) => r.statusCode === 400 && isPage(r.body, 'authorization_request_completed')),
    'every other approval gets the error page authorization_request_completed, never a second code',
  );
  const again = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, challenge)}`);
  t.ok(
    again.statusCode === 400 && isPage(again.body, 'authorization_request_completed'),
    'the same request sent again by a signed-in browser with remembered consent mints no second code',
  );
});

t.test('HEAD on the authorization endpoint spends neither a request_uri nor a code', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const { challenge } = pkce();
  const res = await push(app, client.id, challenge);
  const requestUri = (res.json() as { request_uri: string }).request_uri;
  const browser = new Browser(app);
  const head = await app.inject({ method: 'HEAD', url: byUri(client.id, requestUri) });
  t.equal(head.statusCode, 200, 'HEAD answers 200');
  t.equal(head.headers.location, undefined, 'HEAD redirects nowhere');
  const page = await browser.get(byUri(client.id, requestUri));
  t.ok(page.body.includes('/oauth/authorize/login'), 'the browser that follows the link still claims the request_uri');

  // A signed-in browser with remembered consent: HEAD must not mint the code that GET would.
  const first = await browser.signIn(page, user.email);
  await browser.consent(first);
  const second = pkce();
  const url = `/oauth/authorize?${authorizeQuery(client.id, second.challenge)}`;
  const headSignedIn = await app.inject({ method: 'HEAD', url, cookies: Object.fromEntries(browser.cookies) });
  t.equal(headSignedIn.headers.location, undefined, 'HEAD from a signed-in browser sends no code anywhere');
  const get = await browser.get(url);
  t.ok(redirectParams(get).get('code'), 'the GET after it gets its code: HEAD completed nothing');
});

t.test('a pushed prompt=login is honoured on the pages whatever the form carries', async (t) => {
  const { app, clock } = await buildTestApp(t);
  const { client } = await registerClient(app);
  const user = await register(app);
  const browser = new Browser(app);
  // Signed in, with consent remembered, before the request is pushed.
  const warm = pkce();
  const p = await browser.get(`/oauth/authorize?${authorizeQuery(client.id, warm.challenge)}`);
  const c = await browser.signIn(p, user.email);
  await browser.consent(c);
  clock.advance(5);

  const { challenge } = pkce();
  const res = await push(app, client.id, challenge, { prompt: 'login', max_age: '0' });
  const requestUri = (res.json() as { request_uri: string }).request_uri;
  const login = await browser.get(byUri(client.id, requestUri));
  t.ok(login.body.includes('/oauth/authorize/login'), 'prompt=login shows the sign-in page to a signed-in browser');
  const fields = formFields(login.body);
  t.equal(fields.prompt, undefined, 'the page carries no prompt of its own for a pushed request');
  // Skipping the sign-in: the consent form posted straight away, without prompt or max_age.
  const skipped = await browser.post('/oauth/authorize/consent', { ...fields, decision: 'allow' });
  t.equal(skipped.statusCode, 200, 'no redirect: the request still needs its sign-in');
  t.ok(skipped.body.includes('/oauth/authorize/login'), 'the sign-in page is shown again, not a code');
  const withForged = await browser.post('/oauth/authorize/consent', {
    ...fields,
    prompt: 'consent',
    max_age: '99999',
    decision: 'allow',
  });
  t.ok(withForged.body.includes('/oauth/authorize/login'), 'a prompt and max_age in the form change nothing');
  const signedIn = await browser.signIn(login, user.email);
  t.equal(signedIn.statusCode, 303, 'after a fresh sign-in the request completes');
  t.ok(redirectParams(signedIn).get('code'), 'with a code');
});

t.test("a public client's pushes are limited per address: 30 from one address leave others their budget", async (t) => {
  const { app } = await buildTestApp(t, { env: { TOKEN_RATE_LIMIT_PER_MINUTE: '5' } });
  const { client } = await registerClient(app);
  const flood = await Promise.all(
    Array.from({ length: 30 }, () => push(app, client.id, pkce().challenge, {}, '198.51.100.7')),
  );
  t.equal(flood.filter((r) => r.statusCode === 201).length, 5, 'one address gets exactly the limit of 5 pushes');
  t.ok(
    flood.filter((r) => r.statusCode !== 201).every((r) => r.statusCode === 429),
    'its other pushes are refused with 429',
  );
  const other = await push(app, client.id, pkce().challenge, {}, '203.0.113.9');
  t.equal(other.statusCode, 201, 'a user at another address still pushes for the same public client');
});
