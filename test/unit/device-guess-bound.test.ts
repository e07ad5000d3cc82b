// The success probability of a user-code guesser that docs/oauth-apps.md states, recomputed from the constants
// the code enforces (the alphabet and length of a user code, a code's lifetime, the counting window and the
// per-session and per-address limits), so a change to any of them fails here until the page says the new bound.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { USER_CODE_ALPHABET, USER_CODE_LENGTH } from '../../src/domain/oauth/user-codes.js';
import { DEVICE_CODE_TTL_SECONDS } from '../../src/domain/oauth/device-codes.js';
import { PER_ADDRESS, PER_SESSION, WINDOW_SECONDS } from '../../src/domain/oauth/device-guesses.js';

/** 3.9·10^-10, as the page writes a small probability. */
const sci = (x: number, digits = 1) => {
  const [mantissa, exponent] = x.toExponential(digits).split('e');
  return `${mantissa}·10^${Number(exponent)}`;
};

t.test('the guessing bound in the docs is the one the limits in the code give', async (t) => {
  const page = await readFile(new URL('../../docs/oauth-apps.md', import.meta.url), 'utf8');
  const block = page.slice(page.indexOf('### How likely a user-code guesser is to succeed'));
  const n = USER_CODE_ALPHABET.length ** USER_CODE_LENGTH;
  const w = Math.ceil(DEVICE_CODE_TTL_SECONDS / WINDOW_SECONDS) + 1;
  const nSess = w * PER_SESSION;
  const nAddr = w * PER_ADDRESS;
  const expected = [
    `N      = ${USER_CODE_ALPHABET.length}^${USER_CODE_LENGTH}`,
    `= ${n.toLocaleString('en-US')}`,
    `alphabet ${USER_CODE_ALPHABET}, ${USER_CODE_LENGTH} letters`,
    `L      = ${DEVICE_CODE_TTL_SECONDS} s`,
    `W      = ${WINDOW_SECONDS} s`,
    `w      = ⌈L / W⌉ + 1              = ${w}`,
    `n_sess = w × PER_SESSION = ${w} × ${PER_SESSION}  = ${nSess}`,
    `n_addr = w × PER_ADDRESS = ${w} × ${PER_ADDRESS} = ${nAddr}`,
    `P_sess = n_sess / N               ≈ ${sci(nSess / n)}`,
    `P_addr = n_addr / N               ≈ ${sci(nAddr / n)}`,
    `1,000 × 1,000 × ${nAddr} / ${sci(n, 2)}`,
    `≈ ${sci((1000 * 1000 * nAddr) / n)} that some code falls`,
    `at most ${nSess} attempts each`,
  ];
  for (const line of expected) t.ok(block.includes(line), `the page states "${line}", as the code enforces`);
  t.ok(nAddr / n < 1e-8, 'one address has under a one-in-a-hundred-million chance at a given live code');
});
