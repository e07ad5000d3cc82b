// Unit tier: the audit rows an end of sessions writes (endAudit in src/domain/sessions/session-end.ts), for
// every reason. Every end writes through this one function; the integration files read the rows back.
import t from 'tap';
import { endAudit, type EndReason, type SessionEnd } from '../../src/domain/sessions/session-end.js';

const U = '00000000-0000-4000-8000-000000000001';
const S1 = '00000000-0000-4000-8000-0000000000a1';
const S2 = '00000000-0000-4000-8000-0000000000a2';
const admin = { kind: 'admin' as const, actor: { kind: 'user' as const, id: 'boss' } };
const one = [{ id: S1, userId: U }];
const two = [...one, { id: S2, userId: U }];

t.test('a per-session end writes one row per session it ended, none when another request ended it first', async (t) => {
  const cases: [EndReason, SessionEnd['by'], string, string | null][] = [
    ['logout', { kind: 'self', sessionId: S1 }, 'logout', null],
    ['revoked_by_user', { kind: 'self' }, 'session_revoked', null],
    ['revoked_by_admin', admin, 'session_revoked', 'by user:boss'],
    ['revoked_by_client', { kind: 'client', clientId: 'orders' }, 'token_revoked', 'client orders'],
    ['refresh_token_reused', { kind: 'system' }, 'refresh_reuse_detected', null],
  ];
  for (const [reason, by, type, text] of cases) {
    const end = { which: { ids: [S1] }, reason, by };
    t.same(
      endAudit(end, one),
      [{ type, userId: U, sessionId: S1, reason: text }],
      `${reason}: one row naming the session`,
    );
    t.same(endAudit(end, []), [], `${reason}: nothing ended, nothing written`);
  }
});

t.test('an account-wide end writes one row with the count, even when it ended none', async (t) => {
  const cases: [SessionEnd, number, { type: string; sessionId: string | null; reason: string | null }][] = [
    [
      { which: { userId: U }, reason: 'logout_all', by: { kind: 'self', sessionId: S1 } },
      2,
      { type: 'logout_all', sessionId: S1, reason: '2 sessions' },
    ],
    [
      { which: { userId: U, exceptId: S1 }, reason: 'password_changed', by: { kind: 'self', sessionId: S1 } },
      1,
      { type: 'password_changed', sessionId: S1, reason: '1 other sessions ended' },
    ],
    [
      { which: { userId: U }, reason: 'factors_reset', by: admin, note: 'factors=1 passkeys=2' },
      0,
      { type: 'mfa_factors_reset', sessionId: null, reason: 'factors=1 passkeys=2 by user:boss; 0 sessions ended' },
    ],
    [
      { which: { userId: U }, reason: 'password_reset', by: { kind: 'self' } },
      0,
      { type: 'password_reset', sessionId: null, reason: '0 sessions ended' },
    ],
    [
      { which: { userId: U }, reason: 'email_change_undone', by: { kind: 'self' } },
      2,
      { type: 'email_change_undone', sessionId: null, reason: '2 sessions ended' },
    ],
    [
      { which: { userId: U }, reason: 'account_disabled', by: admin },
      2,
      { type: 'account_disabled', sessionId: null, reason: 'by user:boss; 2 sessions ended' },
    ],
    [
      { which: { userId: U }, reason: 'account_deleted', by: { kind: 'admin', actor: { kind: 'cli' } } },
      0,
      { type: 'account_deleted', sessionId: null, reason: 'by cli; 0 sessions ended' },
    ],
    [
      { which: { userId: U }, reason: 'role_revoked', by: admin, note: 'support' },
      1,
      { type: 'role_revoked', sessionId: null, reason: 'support by user:boss; 1 sessions ended' },
    ],
    [
      { which: { userId: U, ids: [] }, reason: 'role_revoked', by: admin, note: 'support' },
      0,
      { type: 'role_revoked', sessionId: null, reason: 'support by user:boss' },
    ],
  ];
  for (const [end, n, row] of cases) {
    t.same(endAudit(end, two.slice(0, n)), [{ userId: U, ...row }], `${end.reason}: ${row.reason}`);
  }
});
