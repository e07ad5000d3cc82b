// A user's identities: list, unlink (never the last way to log in), link a provider from a signed-in
// session (recent login), and a first password for an account made through a provider.
import t from 'tap';
import { federationFixture, RETURN_TO, type FederationFixture } from '../federation-fixture.js';
import { TestBrowser } from '../federation-idp.js';
import { FLOW_COOKIE } from '../../src/http/oauth-flow-cookie.js';
import { holdNext } from '../held-hasher.js';
import pg from 'pg';
import {
  databaseKind,
  expectError,
  login,
  PASSWORD,
  refresh,
  refreshCookieOf,
  session,
  uniqueEmail,
} from '../helper.js';
import { claimsOf } from '../mfa-fixture.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
let subjects = 0;
const account = (email: string, verified = true) => ({
  sub: `id-subject-${++subjects}-${Date.now()}`,
  email,
  email_verified: verified,
});

async function federatedUser(f: FederationFixture, provider = 'local') {
  const email = uniqueEmail();
  f.idp.next = account(email);
  const { browser } = await f.signIn(provider);
  const { body, claims } = await f.refresh(browser);
  return { email, browser, accessToken: body.access_token as string, userId: claims!.sub as string };
}

/**
 * Starts a link from the session of `accessToken` and takes the browser through the provider, up to the callback
 * (not opened yet): the browser and the callback URL.
 */
async function linkUpToCallback(f: FederationFixture, accessToken: string) {
  const start = await f.app.inject({
    method: 'POST',
    url: '/auth/oauth/local/link',
    headers: bearer(accessToken),
    payload: { return_to: RETURN_TO },
  });
  if (start.statusCode !== 200) throw new Error(`the link did not start: ${start.statusCode} ${start.body}`);
  const browser = new TestBrowser();
  browser.jar.set(
    new URL(f.tessera).host,
    new Map([[FLOW_COOKIE, start.cookies.find((c) => c.name === FLOW_COOKIE)!.value]]),
  );
  const { url: callback } = await browser.follow(start.json().authorization_url, (u) =>
    u.pathname.endsWith('/callback'),
  );
  return { browser, callback };
}

const list = async (f: FederationFixture, token: string) =>
  (await f.app.inject({ url: '/auth/identities', headers: bearer(token) })).json().identities as {
    id: string;
    provider: string;
    email: string;
  }[];

t.test('an account made through a provider lists its identity and cannot unlink its last way to log in', async (t) => {
  const f = await federationFixture(t);
  const u = await federatedUser(f);
  const identities = await list(f, u.accessToken);
  t.match(
    identities,
    [{ provider: 'local', email: u.email, id: String }],
    'the account made through the provider lists that one identity',
  );
  t.same(
    Object.keys(identities[0]!).sort(),
    ['created', 'email', 'id', 'last_used', 'provider'],
    'an identity shows only its id, provider, email and dates',
  );

  const res = await f.app.inject({
    method: 'DELETE',
    url: `/auth/identities/${identities[0]!.id}`,
    headers: bearer(u.accessToken),
  });
  t.equal(res.statusCode, 409, 'unlinking the only way to log in is refused');
  t.equal(res.json().code, 'last_login_method', 'the refusal says it is the last login method');

  const other = await session(f.app);
  const notYours = await f.app.inject({
    method: 'DELETE',
    url: `/auth/identities/${identities[0]!.id}`,
    headers: bearer(other.accessToken),
  });
  t.equal(notYours.statusCode, 404, "someone else's identity looks like a missing one");
  t.equal(
    (await f.app.inject({ url: '/auth/identities' })).json().code,
    'missing_token',
    'listing identities needs an access token',
  );
});

t.test('a first password needs a recent login; then the identity can go and the password logs in', async (t) => {
  const f = await federationFixture(t);
  const u = await federatedUser(f);
  const setFirst = (token: string, password = PASSWORD) =>
    f.app.inject({
      method: 'POST',
      url: '/auth/password/first',
      headers: bearer(token),
      payload: { new_password: password },
    });

  f.clock.advance(301);
  const stale = await f.refresh(u.browser); // a fresh access token, but the login is 301 s old
  const refused = await setFirst(stale.body.access_token as string);
  t.equal(refused.statusCode, 403, 'a first password with a 301 s old login is refused');
  t.equal(refused.json().code, 'reauthentication_required', 'the refusal asks for a new login');

  const again = await f.signIn(); // the same provider account (f.idp.next): a new login
  const fresh = (await f.refresh(again.browser)).body.access_token as string;
  t.equal(
    (await setFirst(fresh, 'short')).json().code,
    'invalid_password',
    'a too-short first password is refused as invalid',
  );
  t.equal((await setFirst(fresh)).statusCode, 204, 'a first password after a fresh login is set');
  t.equal(
    (await setFirst(fresh)).json().code,
    'password_already_set',
    'only the first; changing needs the current one',
  );

  const [identity] = await list(f, fresh);
  const unlinked = await f.app.inject({
    method: 'DELETE',
    url: `/auth/identities/${identity!.id}`,
    headers: bearer(fresh),
  });
  t.equal(unlinked.statusCode, 204, 'with a password set, the last identity can be unlinked');
  t.same(await list(f, fresh), [], 'the unlinked identity is gone from the list');
  t.match(
    await f.db.database.prisma.auditEvent.findMany({ where: { type: 'identity_unlinked' } }),
    [{ userId: u.userId, reason: 'idp=local' }],
    'the unlink is audited with the user and provider',
  );
  const { accessToken } = await login(f.app, u.email);
  t.ok(accessToken, 'the password logs in');
});

t.test('a signed-in user links a provider (any email), and then signs in with it', async (t) => {
  const f = await federationFixture(t);
  const alice = await session(f.app);
  const sessionsBefore = await f.db.database.prisma.session.count();
  const start = await f.app.inject({
    method: 'POST',
    url: '/auth/oauth/local/link',
    headers: bearer(alice.accessToken),
    payload: { return_to: RETURN_TO },
  });
  t.equal(start.statusCode, 200, 'a signed-in user can start linking a provider');
  const flowCookie = start.cookies.find((c) => c.name === FLOW_COOKIE)!;
  t.match(
    flowCookie,
    { httpOnly: true, secure: true, sameSite: 'Lax' },
    'the link flow cookie is HttpOnly, Secure and SameSite=Lax',
  );

  const browser = new TestBrowser();
  browser.jar.set(new URL(f.tessera).host, new Map([[FLOW_COOKIE, flowCookie.value]]));
  const linked = account('alice-elsewhere@example.org', false); // an unverified email is fine: the user proved both ends
  f.idp.next = linked;
  const { url: callback } = await browser.follow(start.json().authorization_url, (u) =>
    u.pathname.endsWith('/callback'),
  );
  const landed = await f.finish(browser, callback);
  t.equal(landed.href, RETURN_TO, 'linking lands back on the return_to page');
  t.equal(await f.db.database.prisma.session.count(), sessionsBefore, 'linking starts no session');
  t.match(
    await list(f, alice.accessToken),
    [{ provider: 'local', email: 'alice-elsewhere@example.org' }],
    'the linked identity is listed with its own email',
  );
  t.match(
    await f.db.database.prisma.auditEvent.findMany({ where: { type: 'identity_linked' } }),
    [{ userId: alice.user.id, reason: 'idp=local by_user' }],
    'the link is audited as done by the user',
  );

  f.idp.next = linked;
  const signedIn = await f.signIn();
  t.equal((await f.refresh(signedIn.browser)).claims!.sub, alice.user.id, 'the linked identity signs alice in');

  const bob = await session(f.app);
  f.idp.next = linked;
  const { browser: bobBrowser, callback: bobCallback } = await linkUpToCallback(f, bob.accessToken);
  t.equal(
    new URL((await f.finish(bobBrowser, bobCallback)).href).searchParams.get('error'),
    'identity_in_use',
    'an identity links to one user only',
  );
});

t.test('linking needs a recent login and an allowed return_to', async (t) => {
  const f = await federationFixture(t);
  const alice = await session(f.app);
  const link = (token: string, returnTo = RETURN_TO) =>
    f.app.inject({
      method: 'POST',
      url: '/auth/oauth/local/link',
      headers: bearer(token),
      payload: { return_to: returnTo },
    });
  t.equal(
    (await link(alice.accessToken, 'https://evil.example/')).json().code,
    'return_to_invalid',
    'linking refuses a return_to outside the allowed origins',
  );
  f.clock.advance(301);
  const res = await refresh(f.app, alice.refresh);
  const stale = await link(res.json().access_token);
  t.equal(stale.statusCode, 403, 'linking with a 301 s old login is refused');
  t.equal(stale.json().code, 'reauthentication_required', 'the refusal asks for a new login');
});

t.test('linking follows RECENT_LOGIN_SECONDS, the window an email change without password has too', async (t) => {
  const f = await federationFixture(t, { env: { RECENT_LOGIN_SECONDS: '60' } });
  const alice = await session(f.app);
  const link = (token: string) =>
    f.app.inject({
      method: 'POST',
      url: '/auth/oauth/local/link',
      headers: bearer(token),
      payload: { return_to: RETURN_TO },
    });
  f.clock.advance(59);
  const atLimit = await refresh(f.app, alice.refresh);
  t.equal((await link(atLimit.json().access_token)).statusCode, 200, 'a login 59 s old may still link');
  f.clock.advance(2);
  const past = await refresh(f.app, refreshCookieOf(atLimit));
  expectError(t, await link(past.json().access_token), 'reauthentication_required', 'a login 61 s old');
});

t.test('50 unlinks at once of the two identities of a password-less user leave one', async (t) => {
  const f = await federationFixture(t);
  const u = await federatedUser(f, 'local');
  f.idp.next = account(u.email); // the trusted provider links by the verified email
  await f.signIn('trusted');
  const ids = (await list(f, u.accessToken)).map((i) => i.id);
  t.equal(ids.length, 2, 'the password-less user has two identities to start with');
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      f.app.inject({ method: 'DELETE', url: `/auth/identities/${ids[i % 2]}`, headers: bearer(u.accessToken) }),
    ),
  );
  t.equal(answers.filter((r) => r.statusCode === 204).length, 1, 'exactly one unlink');
  t.ok(
    answers.every((r) => r.statusCode === 204 || ['last_login_method', 'not_found'].includes(r.json().code)),
    'every other unlink is refused as the last login method or a missing identity',
  );
  t.equal((await list(f, u.accessToken)).length, 1, 'one identity is left');
});

t.test('50 first passwords at once: exactly one is set', async (t) => {
  const f = await federationFixture(t);
  const u = await federatedUser(f);
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      f.app.inject({
        method: 'POST',
        url: '/auth/password/first',
        headers: bearer(u.accessToken),
        payload: { new_password: `first password number ${i}` },
      }),
    ),
  );
  t.equal(answers.filter((r) => r.statusCode === 204).length, 1, 'one wins');
  t.ok(
    answers.every((r) => r.statusCode === 204 || r.json().code === 'password_already_set'),
    'the others are told it is set',
  );
  const winner = answers.findIndex((r) => r.statusCode === 204);
  t.equal(
    (await login(f.app, u.email, `first password number ${winner}`)).res.statusCode,
    200,
    "the winner's password is the one that logs in",
  );
});

t.test('a first password whose session ends while it is hashed is not set', async (t) => {
  const f = await federationFixture(t);
  const u = await federatedUser(f);
  // The hash of the new password waits until every session of the account has ended (a take-back, a reset and
  // a sign-out everywhere all end them): the write after it must then set nothing.
  const held = holdNext(t, f.app, 'hash');
  const setting = f.app.inject({
    method: 'POST',
    url: '/auth/password/first',
    headers: bearer(u.accessToken),
    payload: { new_password: 'set while the session was ending' },
  });
  await held.reached;
  const ended = await f.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(u.accessToken) });
  t.ok(ended.statusCode < 300, 'every session of the account ends meanwhile');
  held.release();
  expectError(t, await setting, 'session_revoked', 'the first password of an ended session is refused');
  held.restore();
  t.equal(
    (
      await f.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: u.email, password: 'set while the session was ending' },
      })
    ).statusCode,
    401,
    'and the account has no password',
  );
});

t.test('a link still at the provider when every session of the account ends links nothing', async (t) => {
  const f = await federationFixture(t);
  const victim = await session(f.app);
  // Someone signed in on the account (with a recent sign-in) starts linking their own provider identity…
  const start = await f.app.inject({
    method: 'POST',
    url: '/auth/oauth/local/link',
    headers: bearer(victim.accessToken),
    payload: { return_to: RETURN_TO },
  });
  t.equal(start.statusCode, 200, 'the link starts');
  const browser = new TestBrowser();
  browser.jar.set(
    new URL(f.tessera).host,
    new Map([[FLOW_COOKIE, start.cookies.find((c) => c.name === FLOW_COOKIE)!.value]]),
  );
  f.idp.next = account('intruder@example.org', true);
  const { url: callback } = await browser.follow(start.json().authorization_url, (u) =>
    u.pathname.endsWith('/callback'),
  );
  // …and before they come back from the provider, the owner ends every session (as a reset or a take-back does).
  const owner = await login(f.app, victim.email);
  const ended = await f.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(owner.accessToken) });
  t.ok(ended.statusCode < 300, 'the owner signs out everywhere');
  const landed = await f.finish(browser, callback);
  t.ok(new URL(landed.href).searchParams.get('error'), `the callback is refused (${landed.href})`);
  t.equal(
    await f.db.database.prisma.identity.count({ where: { userId: victim.user.id } }),
    0,
    'no identity was linked to the account',
  );
});

t.test('a link completes only while the session that asked for it is live', async (t) => {
  const f = await federationFixture(t);
  const alice = await session(f.app);
  const startLink = async (accessToken: string) => {
    const { browser, callback } = await linkUpToCallback(f, accessToken);
    return () => f.finish(browser, callback);
  };
  const logout = (refreshToken: string) =>
    f.app.inject({ method: 'POST', url: '/auth/logout', cookies: { tessera_refresh: refreshToken } });
  const linked = () => f.db.database.prisma.identity.count({ where: { userId: alice.user.id } });

  // Its own session signs out while the user is at the provider (a plain sign-out ends no other session, so
  // the flow is not deleted with the account's sessions): the link asked for by that session is refused.
  f.idp.next = account('alice-elsewhere@example.org');
  const finish = await startLink(alice.accessToken);
  t.ok((await logout(alice.refresh)).statusCode < 300, 'the session that asked signs out');
  const refused = await finish();
  t.equal(new URL(refused.href).searchParams.get('error'), 'session_revoked', 'the callback is refused');
  t.equal(await linked(), 0, 'nothing was linked');

  // Another session's sign-out leaves a link in progress alone.
  const again = await login(f.app, alice.email);
  const other = await login(f.app, alice.email);
  f.idp.next = account('alice-elsewhere@example.org');
  const finishAgain = await startLink(again.accessToken);
  t.ok((await logout(other.refresh)).statusCode < 300, 'another session signs out');
  t.equal((await finishAgain()).href, RETURN_TO, 'the link completes');
  t.equal(await linked(), 1, 'and the identity is linked');
});

t.test('a sign-out committing while the link is written: the link waits for it, then links nothing', async (t) => {
  const f = await federationFixture(t);
  const alice = await session(f.app);
  const sid = claimsOf(alice.accessToken).sid as string;
  f.idp.next = account('alice-elsewhere@example.org');
  const { browser, callback } = await linkUpToCallback(f, alice.accessToken);
  const revoke = `UPDATE sessions SET revoked_at = now() WHERE id = '${sid}'`;
  let landed: URL;
  if (databaseKind === 'postgres') {
    // A sign-out of that session in flight on another connection: its row taken, not yet committed.
    const other = new pg.Client({ connectionString: f.db.url });
    await other.connect();
    t.teardown(() => other.end());
    await other.query('BEGIN');
    await other.query(`SELECT 1 FROM sessions WHERE id = '${sid}' FOR UPDATE`);
    const finishing = f.finish(browser, callback);
    // The link's transaction reaches the session's row and waits for it (bounded: without the wait it just ends).
    for (let i = 0; i < 100; i++) {
      const { rows } = await other.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await other.query(revoke);
    await other.query('COMMIT');
    landed = await finishing;
  } else {
    // The embedded database runs one transaction at a time: the sign-out commits first.
    await f.db.database.sql.query(revoke, []);
    landed = await f.finish(browser, callback);
  }
  t.equal(landed.searchParams.get('error'), 'session_revoked', 'the callback is refused');
  t.equal(await f.db.database.prisma.identity.count({ where: { userId: alice.user.id } }), 0, 'nothing was linked');
});
