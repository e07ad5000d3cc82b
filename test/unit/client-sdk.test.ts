// Unit tier: @tessera/client's rules without a browser. The token timing is pure; the tab coordination runs
// with N clients in one process standing for N tabs: Node's own BroadcastChannel between them, an in-memory
// lock manager with the Web Locks semantics the client uses (exclusive, ifAvailable), and a fake Tessera
// answering through the client's `fetch` option. The real browser proof is test/system/client-browser.test.ts.
import t, { type Test } from 'tap';
import { createClient, type ClientOptions } from '../../packages/client/src/index.js';
import { isFresh, refreshDelay, tokenFrom } from '../../packages/client/src/token.js';

t.test('a token is renewed 30 s before it expires, or at half its lifetime when that is shorter', async (t) => {
  const now = 1_000_000;
  const long = tokenFrom({ access_token: 'a', token_type: 'Bearer', expires_in: 900 }, now);
  t.equal(long.expiresAt, now + 900_000, 'expires_in counts from when the answer arrived, on the browser clock');
  t.equal(refreshDelay(long, now, 30), 870_000, 'a 15-minute token is renewed after 14.5 minutes');
  const short = tokenFrom({ access_token: 'a', token_type: 'Bearer', expires_in: 40 }, now);
  t.equal(refreshDelay(short, now, 30), 20_000, 'a 40 s token is renewed at half its life, not after 10 s');
  t.equal(refreshDelay(long, now + 900_000, 30), 0, 'an expired token is renewed at once');
  t.ok(isFresh(long, now + 880_000, 30), 'a token with 20 s left is still sent while its renewal runs');
  t.notOk(isFresh(long, now + 896_000, 30), 'a token with 4 s left is renewed before it is sent');
  t.notOk(isFresh(null, now, 30), 'no token is never fresh');
});

/** The Web Locks operations the client uses: exclusive request, with or without ifAvailable. */
function memoryLocks(): LockManager {
  const held = new Map<string, Promise<void>>();
  async function request(name: string, a: unknown, b?: unknown): Promise<unknown> {
    const options = (typeof a === 'function' ? {} : a) as LockOptions;
    const callback = (typeof a === 'function' ? a : b) as (lock: Lock | null) => unknown;
    if (options.ifAvailable && held.has(name)) return callback(null);
    while (held.has(name)) await held.get(name);
    let release!: () => void;
    held.set(name, new Promise<void>((resolve) => (release = resolve)));
    try {
      return await callback({ name, mode: 'exclusive' } as Lock);
    } finally {
      held.delete(name);
      release();
    }
  }
  return { request, query: async () => ({}) } as unknown as LockManager;
}

/** A Tessera that knows one session: its current access token and whether the session is live. */
function fakeTessera() {
  const s = { refreshes: 0, token: '', live: true, serial: 0 };
  const tokenBody = () => {
    s.token = `token-${++s.serial}`;
    return Response.json({ access_token: s.token, token_type: 'Bearer', expires_in: 900 });
  };
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (path === '/auth/login') return tokenBody();
    if (path === '/auth/logout') {
      s.live = false;
      return new Response(null, { status: 204 });
    }
    if (path === '/auth/refresh') {
      s.refreshes++;
      await new Promise((resolve) => setTimeout(resolve, 20)); // long enough for the other tabs to queue
      if (!s.live) return Response.json({ code: 'session_revoked', message: 'ended' }, { status: 401 });
      return tokenBody();
    }
    const ok = s.live && request.headers.get('authorization') === `Bearer ${s.token}`;
    return ok ? Response.json({ ok: true }) : Response.json({ code: 'invalid_token' }, { status: 401 });
  };
  return { s, fetch: fetch as typeof globalThis.fetch };
}

function tabs(t: Test, n: number, options: ClientOptions) {
  const clients = Array.from({ length: n }, () => createClient({ baseUrl: 'https://auth.test', ...options }));
  t.teardown(() => {
    for (const c of clients) c.close();
  });
  return clients;
}

const browserApis = () => ({
  locks: memoryLocks(),
  BroadcastChannel: globalThis.BroadcastChannel as unknown as typeof BroadcastChannel,
});

t.test('five tabs that all meet a 401 at once cause one refresh, and all retry with its token', async (t) => {
  const tessera = fakeTessera();
  const [first, ...others] = tabs(t, 5, { fetch: tessera.fetch, ...browserApis() });
  const signedInElsewhere = others.map((c) => new Promise((resolve) => c.on('signed_in', resolve)));
  await first!.signIn('ada@example.com', 'pw');
  t.same(
    await Promise.all(signedInElsewhere),
    [1, 2, 3, 4].map(() => ({ elsewhere: true })),
    'a sign-in reaches every tab',
  );

  tessera.s.token = 'revoked-by-time'; // every tab's token is now refused, as an expired one is
  const answers = await Promise.all([first!, ...others].map((c) => c.fetch('https://api.test/orders')));
  t.same(
    answers.map((r) => r.status),
    [200, 200, 200, 200, 200],
    'every tab gets its answer after the renewal',
  );
  t.equal(tessera.s.refreshes, 1, 'one POST /auth/refresh for all five tabs');
  t.same(
    await Promise.all([first!, ...others].map((c) => c.accessToken())),
    [1, 2, 3, 4, 5].map(() => 'token-2'),
    'every tab holds the one new token',
  );
});

t.test('a sign-out in one tab signs every tab out', async (t) => {
  const tessera = fakeTessera();
  const [a, b, c] = tabs(t, 3, { fetch: tessera.fetch, ...browserApis() });
  await a!.signIn('ada@example.com', 'pw');
  await b!.start();
  t.ok(b!.signedIn, 'a new tab takes the open tab’s token');
  const seen = [b!, c!].map((x) => new Promise((resolve) => x.on('signed_out', resolve)));
  await a!.signOut();
  t.same(
    await Promise.all(seen),
    [1, 2].map(() => ({ elsewhere: true, everywhere: false })),
    'the other tabs hear of it',
  );
  t.same(
    [a!, b!, c!].map((x) => x.signedIn),
    [false, false, false],
    'no tab keeps a token',
  );
  t.equal(tessera.s.refreshes, 0, 'no refresh was needed on the way');
});

t.test(
  'without Web Locks and BroadcastChannel each tab renews alone and learns of the end at its refresh',
  async (t) => {
    const tessera = fakeTessera();
    const [a, b] = tabs(t, 2, { fetch: tessera.fetch, locks: null, BroadcastChannel: null });
    await a!.signIn('ada@example.com', 'pw');
    t.notOk(b!.signedIn, 'nothing is handed over without a channel');
    t.ok(await b!.start(), 'the second tab restores the session from the cookie');
    t.equal(tessera.s.refreshes, 1, 'by a refresh of its own');

    await a!.signOut();
    const ended = new Promise((resolve) => b!.on('session_ended', resolve));
    tessera.s.token = 'expired';
    const res = await b!.fetch('https://api.test/orders');
    t.equal(res.status, 401, 'the API call fails once the session is gone');
    t.same(await ended, { reason: 'session_revoked' }, 'the app is told why, with the server’s code');
    t.notOk(b!.signedIn, 'and the tab holds no token');
  },
);
