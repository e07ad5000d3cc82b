// Unit tier: the pure rules of second-factor codes. The time-step rule (which step a TOTP code belongs to, one
// step either side of now, never a step at or before the last one taken) and how typed codes are normalised
// (full-width digits, spaces, hyphens; recovery codes' misreadable letters), against RFC 6238's own test vector.
import t from 'tap';
import { Secret, TOTP } from 'otpauth';
import { matchTotpStep, normalizeTotpCode, timeStep, TOTP_PERIOD_SECONDS } from '../../src/domain/mfa/totp.js';
import { normalizeRecoveryCode } from '../../src/domain/mfa/recovery-codes.js';

// RFC 6238 Appendix B: the SHA-1 seed "12345678901234567890"; at T = 59 s the 8-digit code is 94287082.
const RFC_SECRET = Secret.fromUTF8('12345678901234567890').base32;
const codeAt = (at: Date) =>
  TOTP.generate({ secret: Secret.fromBase32(RFC_SECRET), digits: 6, period: 30, timestamp: at.getTime() });

t.test('the time step is the 30-second period since the epoch (RFC 6238 test vector)', async (t) => {
  t.equal(TOTP_PERIOD_SECONDS, 30, 'the period is 30 seconds');
  t.equal(timeStep(new Date(59_000)), 1, 'T = 59 s is step 1');
  t.equal(timeStep(new Date(1_111_111_109_000)), 37037036, 'T = 1111111109 s is step 0x23523EC');
  t.equal(matchTotpStep(RFC_SECRET, '287082', new Date(59_000), -1), 1, 'RFC 6238’s code (last six digits) matches');
});

t.test('a code matches its own step and one either side, nothing further', async (t) => {
  const now = new Date(1_800_000_000_000);
  const step = timeStep(now);
  const at = (k: number) => new Date((step + k) * TOTP_PERIOD_SECONDS * 1000);
  t.equal(matchTotpStep(RFC_SECRET, codeAt(at(0)), now, -1), step, 'the current step');
  t.equal(matchTotpStep(RFC_SECRET, codeAt(at(-1)), now, -1), step - 1, 'the previous step (a slow phone)');
  t.equal(matchTotpStep(RFC_SECRET, codeAt(at(1)), now, -1), step + 1, 'the next step (a fast phone)');
  t.equal(matchTotpStep(RFC_SECRET, codeAt(at(-2)), now, -1), null, 'two steps back is refused');
  t.equal(matchTotpStep(RFC_SECRET, codeAt(at(2)), now, -1), null, 'two steps ahead is refused');
});

t.test('a step at or before the last one taken never matches again', async (t) => {
  const now = new Date(1_800_000_000_000);
  const step = timeStep(now);
  const at = (k: number) => new Date((step + k) * TOTP_PERIOD_SECONDS * 1000);
  t.equal(matchTotpStep(RFC_SECRET, codeAt(at(0)), now, step), null, 'the step just taken');
  t.equal(matchTotpStep(RFC_SECRET, codeAt(at(-1)), now, step), null, 'an older step after a newer one');
  t.equal(matchTotpStep(RFC_SECRET, codeAt(at(1)), now, step), step + 1, 'the next step is still open');
});

t.test(
  'typed TOTP codes are normalised: full-width digits, spaces and hyphens; anything else is no code',
  async (t) => {
    t.equal(normalizeTotpCode('123456'), '123456', 'plain digits');
    t.equal(normalizeTotpCode(' 123 456 '), '123456', 'spaces, as apps group them');
    t.equal(normalizeTotpCode('123-456'), '123456', 'a hyphen');
    t.equal(normalizeTotpCode('１２３４５６'), '123456', 'full-width digits from a phone keyboard');
    t.equal(normalizeTotpCode('12345'), null, 'five digits');
    t.equal(normalizeTotpCode('1234567'), null, 'seven digits');
    t.equal(normalizeTotpCode('12345a'), null, 'a letter');
  },
);

t.test('recovery codes are normalised: case, separators, and O/I/L read as 0/1', async (t) => {
  const stored = '0123456789ABCDEF';
  t.equal(normalizeRecoveryCode('0123-4567-89AB-CDEF'), stored, 'the printed form');
  t.equal(normalizeRecoveryCode('0123 4567 89ab cdef'), stored, 'lower case and spaces');
  t.equal(normalizeRecoveryCode('O123-4567-89AB-CDEF'), stored, 'a letter O read as zero');
  t.equal(normalizeRecoveryCode('0l23-4567-89AB-CDEF'), '0123456789ABCDEF', 'a letter l read as one');
  t.equal(normalizeRecoveryCode('0I23-4567-89AB-CDEF'), '0123456789ABCDEF', 'a letter I read as one');
  t.equal(normalizeRecoveryCode('0123-4567-89AB-CDEU'), null, 'U is not in the alphabet');
  t.equal(normalizeRecoveryCode('0123-4567-89AB'), null, 'too short');
});
