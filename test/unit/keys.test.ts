// Unit tier: which signing key is active, next or retired at a given instant, and how long a retired key
// stays published. Key material is irrelevant to the rule: schedules only.
import t from 'tap';
import { keyStates, type KeyStatus } from '../../src/domain/keys/keys.js';
import type { KeyFile, KeySchedule } from '../../src/domain/keys/key-files.js';
import { CLOCK_SKEW_SECONDS } from '@tessera/verify/contract';

const at = (s: string) => new Date(`2026-01-01T${s}Z`);
const key = (kid: string, schedule: Partial<KeySchedule>): KeyFile => ({
  kid,
  alg: 'RS256',
  privateKey: {} as CryptoKey,
  publicKey: {} as KeyFile['publicKey'],
  schedule: { createdAt: at('00:00:00'), activatesAt: null, retiredAt: null, ...schedule },
});
const policy = { accessTokenTtlSeconds: 900, reloadSeconds: 30 };
const states = (list: KeyStatus[]) => Object.fromEntries(list.map((s) => [s.key.kid, s.state]));

t.test('the latest started key signs; unstarted keys wait as next; both are published', async (t) => {
  const keys = [
    key('a', { activatesAt: at('00:00:00') }),
    key('b', { activatesAt: null }),
    key('c', { activatesAt: at('02:00:00') }),
  ];
  const now = keyStates(keys, at('01:00:00'), policy);
  t.same(states(now), { a: 'active', b: 'next', c: 'next' }, 'before c starts');
  t.ok(
    now.every((s) => s.published),
    'every key is published',
  );
  t.same(
    states(keyStates(keys, at('02:00:00'), policy)),
    { a: 'retired', b: 'next', c: 'active' },
    'c takes over at its activation time',
  );
});

t.test('a superseded key stays published for a token lifetime, skew and reload, then is unpublished', async (t) => {
  const keys = [key('a', { activatesAt: at('00:00:00') }), key('c', { activatesAt: at('02:00:00') })];
  const publishFor = policy.accessTokenTtlSeconds + CLOCK_SKEW_SECONDS + policy.reloadSeconds;
  const justBefore = new Date(at('02:00:00').getTime() + publishFor * 1000 - 1);
  const a = (now: Date) => keyStates(keys, now, policy).find((s) => s.key.kid === 'a')!;
  t.same(a(justBefore).retiredAt, at('02:00:00'), 'retired when its successor started');
  t.equal(a(justBefore).published, true, 'still published just before the end');
  t.equal(a(new Date(justBefore.getTime() + 1)).published, false, 'unpublished after');
});

t.test('retiring the active key by hand hands signing to the oldest next key', async (t) => {
  const keys = [
    key('a', { activatesAt: at('00:00:00'), retiredAt: at('00:30:00') }),
    key('b', { createdAt: at('00:10:00') }),
    key('c', { createdAt: at('00:20:00') }),
  ];
  t.same(
    states(keyStates(keys, at('01:00:00'), policy)),
    { a: 'retired', b: 'active', c: 'next' },
    'the hand-retired key stays retired, the oldest next key b signs and c waits',
  );
  t.throws(
    () => keyStates([key('a', { activatesAt: at('00:00:00'), retiredAt: at('00:30:00') })], at('01:00:00'), policy),
    { name: 'KeyError' },
    'no key left to sign',
  );
});
