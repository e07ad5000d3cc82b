// Unit tier: the one recent-authentication rule (src/domain/accounts/recent-auth.ts), to the second.
import t from 'tap';
import { requireRecentAuth } from '../../src/domain/accounts/recent-auth.js';
import { DomainError } from '../../src/domain/domain-error.js';

const now = new Date('2026-01-01T00:10:00Z');
const nowSeconds = now.getTime() / 1000;

function verdict(authTime: number | undefined, maxAge: number): string {
  try {
    requireRecentAuth(authTime, now, maxAge);
    return 'recent';
  } catch (err) {
    return err instanceof DomainError ? err.code : String(err);
  }
}

t.test('a sign-in within the window stands in for the password; one second past it does not', async (t) => {
  t.equal(verdict(nowSeconds, 300), 'recent', 'a sign-in this very second is recent');
  t.equal(verdict(nowSeconds - 300, 300), 'recent', 'a sign-in exactly RECENT_LOGIN_SECONDS old is still recent');
  t.equal(verdict(nowSeconds - 301, 300), 'reauthentication_required', 'one second older asks for a new sign-in');
  t.equal(verdict(nowSeconds - 1, 0), 'reauthentication_required', 'a window of 0 accepts no past sign-in');
});

t.test('a token without auth_time never counts as a recent sign-in', async (t) => {
  t.equal(verdict(undefined, 86400), 'reauthentication_required', 'no auth_time: a new sign-in is needed');
});
