// Unit tier: the refresh rule (src/domain/sessions/refresh-verdict.ts), every branch and every boundary second,
// with no app or database. The integration files (refresh-rotation, refresh-v2) show the same rule through HTTP.
import t from 'tap';
import { refreshVerdict, type SessionSnapshot } from '../../src/domain/sessions/refresh-verdict.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const sec = (n: number) => new Date(T0 + n * 1000);
const settings = {
  refreshTokenTtlSeconds: 3600,
  sessionIdleSeconds: 1800,
  sessionMaxAgeSeconds: 7200,
  reuseGraceSeconds: 10,
};
/** A session started at 0, last rotated (to counter 5) at 100 s, stored expiry 1900 s. */
const session = (over: Partial<SessionSnapshot> = {}): SessionSnapshot => ({
  createdAt: sec(0),
  lastUsedAt: sec(100),
  expiresAt: sec(1900),
  revokedAt: null,
  counter: 5n,
  rotatedAt: sec(100),
  ...over,
});

t.test('no session, or one from before refresh counters, is invalid', async (t) => {
  t.equal(refreshVerdict(null, 0n, sec(101), settings), 'invalid', 'a token naming no session');
  t.equal(refreshVerdict(session({ counter: null }), 0n, sec(101), settings), 'invalid', 'a session without counter');
});

t.test('the current counter rotates; one ahead of it was never issued', async (t) => {
  t.equal(refreshVerdict(session(), 5n, sec(101), settings), 'rotate', 'the current token rotates');
  t.equal(refreshVerdict(session(), 6n, sec(101), settings), 'invalid', 'the next counter is not a token yet');
  t.equal(refreshVerdict(session(), 2n ** 63n, sec(101), settings), 'invalid', 'a huge counter is invalid');
});

t.test('revoked comes before everything else, even an expired session or the current counter', async (t) => {
  t.equal(refreshVerdict(session({ revokedAt: sec(50) }), 5n, sec(101), settings), 'revoked', 'current counter');
  t.equal(refreshVerdict(session({ revokedAt: sec(50) }), 1n, sec(101), settings), 'revoked', 'an old counter');
  t.equal(refreshVerdict(session({ revokedAt: sec(50) }), 5n, sec(9999), settings), 'revoked', 'and expired too');
});

t.test('the stored expiry: refreshable one second before, expired at it', async (t) => {
  const s = session({ expiresAt: sec(500) });
  t.equal(refreshVerdict(s, 5n, sec(499), settings), 'rotate', '1 s before the stored expiry');
  t.equal(refreshVerdict(s, 5n, sec(500), settings), 'expired', 'at the stored expiry');
  t.equal(refreshVerdict(s, 4n, sec(500), settings), 'expired', 'expired wins over reuse');
});

t.test('the idle limit, recomputed with the current settings: expired at exactly last use + idle', async (t) => {
  t.equal(refreshVerdict(session(), 5n, sec(100 + 1799), settings), 'rotate', '1 s before the idle limit');
  const idle = { ...settings, sessionIdleSeconds: 900 };
  t.equal(refreshVerdict(session(), 5n, sec(100 + 899), idle), 'rotate', 'a lowered idle limit, 1 s before');
  t.equal(
    refreshVerdict(session(), 5n, sec(100 + 900), idle),
    'expired',
    'a lowered idle limit applies to old sessions',
  );
});

t.test('the refresh-token lifetime: expired at exactly last use + REFRESH_TOKEN_TTL_SECONDS', async (t) => {
  const ttl = { ...settings, refreshTokenTtlSeconds: 600 };
  t.equal(refreshVerdict(session(), 5n, sec(100 + 599), ttl), 'rotate', '1 s before the token lifetime');
  t.equal(refreshVerdict(session(), 5n, sec(100 + 600), ttl), 'expired', 'at the token lifetime');
});

t.test('the absolute age: expired at exactly start + SESSION_MAX_AGE_SECONDS, whatever the last use', async (t) => {
  const s = session({ lastUsedAt: sec(7000), rotatedAt: sec(7000), expiresAt: sec(9000) });
  t.equal(refreshVerdict(s, 5n, sec(7199), settings), 'rotate', '1 s before the maximum age');
  t.equal(refreshVerdict(s, 5n, sec(7200), settings), 'expired', 'at the maximum age');
});

t.test('the previous counter within the grace window gets the current token; at the window it is reuse', async (t) => {
  t.equal(refreshVerdict(session(), 4n, sec(100), settings), 'grace', 'at the rotation itself');
  t.equal(refreshVerdict(session(), 4n, sec(109), settings), 'grace', '9 s after the rotation');
  t.equal(refreshVerdict(session(), 4n, sec(109.999), settings), 'grace', '1 ms before the window shuts');
  t.equal(refreshVerdict(session(), 4n, sec(110), settings), 'reuse', 'exactly REFRESH_REUSE_GRACE_SECONDS after');
  t.equal(refreshVerdict(session(), 4n, sec(111), settings), 'reuse', 'after the window');
});

t.test('older counters are reuse at once, inside the window too', async (t) => {
  t.equal(refreshVerdict(session(), 3n, sec(101), settings), 'reuse', 'two behind, 1 s after the rotation');
  t.equal(refreshVerdict(session(), 0n, sec(101), settings), 'reuse', 'the first token of the session');
});

t.test('no grace with REFRESH_REUSE_GRACE_SECONDS=0, or without a recorded rotation', async (t) => {
  const off = { ...settings, reuseGraceSeconds: 0 };
  t.equal(refreshVerdict(session(), 4n, sec(100), off), 'reuse', 'grace off: even at the rotation');
  t.equal(refreshVerdict(session({ rotatedAt: null }), 4n, sec(101), settings), 'reuse', 'no rotation time');
});

t.test('the longest grace (300 s) ends at its last second too', async (t) => {
  const long = { ...settings, reuseGraceSeconds: 300 };
  t.equal(refreshVerdict(session(), 4n, sec(399), long), 'grace', '299 s after the rotation');
  t.equal(refreshVerdict(session(), 4n, sec(400), long), 'reuse', '300 s after the rotation');
});
