// Unit tier: the pure rules of a session's life and of failed-guess locks, with no app, database or argon2.
import t from 'tap';
import { isLive, refreshCutoffs, sessionDeadline } from '../../src/domain/sessions/session-state.js';
import { lockSeconds, THROTTLE_POLICY } from '../../src/domain/accounts/login-throttle.js';

const at = (s: string) => new Date(`2026-01-01T${s}Z`);
const limits = { refreshTokenTtlSeconds: 3600, sessionIdleSeconds: 1800, sessionMaxAgeSeconds: 7200 };

t.test('a session ends at the earliest of idle, refresh-token lifetime and absolute age', async (t) => {
  t.same(
    sessionDeadline(limits, at('00:00:00'), at('00:10:00')),
    at('00:40:00'),
    'idle (1800 s after last use) comes first',
  );
  t.same(
    sessionDeadline({ ...limits, sessionIdleSeconds: 7200 }, at('00:00:00'), at('00:10:00')),
    at('01:10:00'),
    'then the refresh token lifetime',
  );
  t.same(sessionDeadline(limits, at('00:00:00'), at('01:50:00')), at('02:00:00'), 'never past created + max age');
});

t.test('the SQL cutoffs say the same as sessionDeadline', async (t) => {
  const now = at('03:00:00');
  const { lastUsedAfter, createdAfter } = refreshCutoffs(limits, now);
  t.same(lastUsedAfter, at('02:30:00'), 'last used after now − min(ttl, idle)');
  t.same(createdAfter, at('01:00:00'), 'created after now − max age');
  for (const [created, used] of [
    ['01:00:01', '02:30:01'],
    ['01:00:00', '02:30:01'],
    ['01:00:01', '02:30:00'],
    ['02:00:00', '02:59:59'],
  ]) {
    const live = sessionDeadline(limits, at(created!), at(used!)) > now;
    const sql = at(used!) > lastUsedAfter && at(created!) > createdAfter;
    t.equal(sql, live, `created ${created}, used ${used}: both say ${live ? 'refreshable' : 'ended'}`);
  }
});

t.test('a session is live until revoked or past its stored expiry', async (t) => {
  const now = at('01:00:00');
  t.equal(isLive({ revokedAt: null, expiresAt: at('01:00:01') }, now), true, 'before expiry, not revoked');
  t.equal(isLive({ revokedAt: null, expiresAt: at('01:00:00') }, now), false, 'expiry is exclusive');
  t.equal(isLive({ revokedAt: at('00:30:00'), expiresAt: at('02:00:00') }, now), false, 'revoked');
});

t.test('failed guesses: free ones, then locks doubling up to the cap', async (t) => {
  const free = THROTTLE_POLICY.freeFailures;
  for (let n = 0; n <= free; n++) t.equal(lockSeconds(n), 0, `${n} failures: no lock`);
  t.equal(lockSeconds(free + 1), 1, 'the first lock is 1 s');
  t.equal(lockSeconds(free + 2), 2, 'then 2 s');
  t.equal(lockSeconds(free + 5), 16, 'doubling each time');
  t.equal(lockSeconds(free + 40), THROTTLE_POLICY.maxLockSeconds, 'capped');
});
