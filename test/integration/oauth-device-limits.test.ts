// The device grant's one-time things and limits under simultaneous requests: one redemption of 20 parallel
// polls, in one statement; one decision of 20 parallel answers; and user-code entries limited per browser
// session and per address, counted before any lookup (50 at once), a correct code resetting nothing.
import t from 'tap';
import { buildTestApp, expectError, recordStatements, register } from '../helper.js';
import { formFields } from '../oauth-server-fixtures.js';
import { PER_ADDRESS, PER_SESSION, WINDOW_SECONDS } from '../../src/domain/oauth/device-guesses.js';
import { decide, enterCode, poll, registerDeviceClient, signedInBrowser, startDevice } from '../device-fixtures.js';

t.test('of 20 parallel polls after approval exactly one gets tokens', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerDeviceClient(app);
  const user = await register(app);
  const device = (await startDevice(app, { client_id: client.id, scope: 'openid offline_access' })).json();
  await decide(app, user.email, device.user_code);
  const answers = await Promise.all(Array.from({ length: 20 }, () => poll(app, client.id, device.device_code)));
  const won = answers.filter((r) => r.statusCode === 200);
  t.equal(won.length, 1, 'exactly one poll gets tokens');
  for (const r of answers.filter((r) => r.statusCode !== 200)) expectError(t, r, 'invalid_grant', 'a losing poll');
  const [grants] = await app.services.database.sql.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM sessions WHERE client_id = $1',
    [client.id],
  );
  t.equal(grants!.n, 1, 'one grant was started');
});

t.test('the redemption that gives tokens is one statement, client authentication included', async (t) => {
  const { app, db } = await buildTestApp(t);
  const { client } = await registerDeviceClient(app);
  const user = await register(app);
  const device = (await startDevice(app, { client_id: client.id, scope: 'openid offline_access' })).json();
  await decide(app, user.email, device.user_code);
  // The device authorization request read the client and left this instance a copy of it; the counted poll's
  // client authentication uses that copy, and its one statement re-checks that the client is unchanged.
  const rec = recordStatements(db);
  const granted = await poll(app, client.id, device.device_code);
  const statements = rec.stop();
  t.equal(granted.statusCode, 200, 'the counted poll gets tokens');
  t.equal(statements.length, 1, `one statement: ${statements.map((q) => q.slice(0, 40)).join(' | ')}`);
  t.match(statements[0], /UPDATE oauth_device_codes/, 'the code is spent, the grant started and audited together');
});

t.test('of 20 parallel answers on the confirmation page exactly one decides', async (t) => {
  const { app } = await buildTestApp(t);
  const { client } = await registerDeviceClient(app);
  const user = await register(app);
  const device = (await startDevice(app, { client_id: client.id, scope: 'openid' })).json();
  const browser = await signedInBrowser(app, user.email);
  const confirm = await enterCode(browser, device.user_code);
  const fields = formFields(confirm.body);
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      browser.post('/oauth/device/decision', { ...fields, decision: i % 2 ? 'approve' : 'deny' }),
    ),
  );
  t.equal(answers.filter((r) => r.statusCode === 200).length, 1, 'exactly one answer decides');
  t.equal(answers.filter((r) => r.statusCode === 400).length, 19, 'the others find nothing pending');
});

const wrongCode = (i: number) => `BBBB-${'BCDFGHJKLMNPQRSTVWXZ'[i % 20]}BBB`;

t.test(`50 simultaneous guesses in one browser session: ${PER_SESSION} are looked up, the rest refused`, async (t) => {
  const { app } = await buildTestApp(t);
  const user = await register(app);
  const browser = await signedInBrowser(app, user.email);
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => enterCode(browser, wrongCode(i))));
  t.equal(answers.filter((r) => r.statusCode === 400).length, PER_SESSION, 'exactly the limit is looked up');
  const refused = answers.filter((r) => r.statusCode === 429);
  t.equal(refused.length, 50 - PER_SESSION, 'the rest are refused');
  t.ok(Number(refused[0]!.headers['retry-after']) > 0, 'with Retry-After');
  t.match(refused[0]!.body, /Too many requests/, 'the page says so');
});

t.test(`50 simultaneous guesses from one address in ten sessions: ${PER_ADDRESS} are looked up`, async (t) => {
  const { app } = await buildTestApp(t);
  const user = await register(app);
  const browsers = [];
  for (let i = 0; i < 10; i++) browsers.push(await signedInBrowser(app, user.email));
  const answers = await Promise.all(
    browsers.flatMap((b, s) => Array.from({ length: 5 }, (_, i) => enterCode(b, wrongCode(s * 5 + i)))),
  );
  t.equal(answers.filter((r) => r.statusCode === 400).length, PER_ADDRESS, 'exactly the address limit is looked up');
  t.equal(answers.filter((r) => r.statusCode === 429).length, 50 - PER_ADDRESS, 'the rest are refused');
});

t.test('a correct code does not reset the address counter; the window ends it', async (t) => {
  const { app, clock } = await buildTestApp(t);
  const { client } = await registerDeviceClient(app);
  const user = await register(app);
  const device = (await startDevice(app, { client_id: client.id, scope: 'openid' })).json();
  const sessions = Math.ceil((PER_ADDRESS - 1) / PER_SESSION) + 1;
  const browsers = [];
  for (let i = 0; i < sessions; i++) browsers.push(await signedInBrowser(app, user.email));
  for (let i = 0; i < PER_ADDRESS - 1; i++) {
    const r = await enterCode(browsers[Math.floor(i / PER_SESSION)]!, wrongCode(i));
    t.equal(r.statusCode, 400, `wrong code ${i + 1} is looked up and refused`);
  }
  const right = await enterCode(browsers[sessions - 1]!, device.user_code);
  t.equal(right.statusCode, 200, `the correct code as attempt ${PER_ADDRESS} is shown`);
  const after = await enterCode(browsers[sessions - 1]!, device.user_code);
  t.equal(after.statusCode, 429, 'the next attempt from the address is refused: the success reset nothing');
  clock.advance(WINDOW_SECONDS + 1);
  const fresh = (await startDevice(app, { client_id: client.id, scope: 'openid' })).json();
  const later = await enterCode(browsers[sessions - 1]!, fresh.user_code);
  t.equal(later.statusCode, 200, 'a new window admits attempts again');
});

t.test('the purge deletes device codes expired for a day and guess counters whose window ended', async (t) => {
  const { app, clock } = await buildTestApp(t);
  const { client } = await registerDeviceClient(app);
  const user = await register(app);
  await startDevice(app, { client_id: client.id, scope: 'openid' });
  await enterCode(await signedInBrowser(app, user.email), wrongCode(0));
  const { devices, deviceGuesses } = app.services.oauth;
  t.equal(await devices.purge(), 0, 'a live code stays');
  t.equal(await deviceGuesses.purge(), 0, 'a counter in its window stays');
  clock.advance(WINDOW_SECONDS + 1);
  t.equal(await deviceGuesses.purge(), 2, 'both counters (session and address) go once the window ended');
  clock.advance(86_400);
  t.equal(await devices.purge(), 1, 'the code goes a day after it expired');
});
