// The device flow's user code: its alphabet, its shape, and how what a person types is read back.
import t from 'tap';
import {
  USER_CODE_ALPHABET,
  USER_CODE_LENGTH,
  displayUserCode,
  newUserCode,
  normaliseUserCode,
} from '../../src/domain/oauth/user-codes.js';

t.test('the alphabet has no vowels, no digits and no look-alikes', async (t) => {
  t.equal(USER_CODE_ALPHABET.length, 20, "RFC 8628 §6.1's twenty consonants");
  for (const c of 'AEIOUY0123456789') t.notOk(USER_CODE_ALPHABET.includes(c), `${c} is left out`);
  t.equal(new Set(USER_CODE_ALPHABET).size, 20, 'no letter twice');
});

t.test('a new code is eight letters of the alphabet, shown XXXX-XXXX', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const code = newUserCode();
    seen.add(code);
    t.equal(code.length, USER_CODE_LENGTH, 'eight characters');
    t.ok(
      [...code].every((c) => USER_CODE_ALPHABET.includes(c)),
      'all from the alphabet',
    );
  }
  t.equal(seen.size, 200, '200 draws give 200 different codes');
  t.equal(displayUserCode('BCDFGHJK'), 'BCDF-GHJK', 'shown with a dash in the middle');
});

t.test('what a person types is read back whatever the case, spaces or dashes', async (t) => {
  t.equal(normaliseUserCode('bcdf-ghjk'), 'BCDFGHJK', 'lower case with the dash');
  t.equal(normaliseUserCode(' BCDF GHJK '), 'BCDFGHJK', 'spaces');
  t.equal(normaliseUserCode('b-c-d-f-g-h-j-k'), 'BCDFGHJK', 'many dashes');
  t.equal(normaliseUserCode('BCDF–GHJK'), 'BCDFGHJK', 'a typographic dash from a copied link');
  t.equal(normaliseUserCode('BCDF-GHJ'), null, 'too short');
  t.equal(normaliseUserCode('BCDF-GHJKL'), null, 'too long');
  t.equal(normaliseUserCode('BCDF-GHJ0'), null, 'a digit');
  t.equal(normaliseUserCode('ACDF-GHJK'), null, 'a vowel');
  t.equal(normaliseUserCode('B'.repeat(100)), null, 'a long input');
});
