// Email addresses: one canonical form per address, and no two look-alike addresses as two accounts.
//
// Validation of the shape is deliberately plain (one @, a dot in the domain, no spaces or control
// characters): deliverability is proved by mail, not by regular expressions. What matters here is what
// makes two strings one account, or one string pose as another. The policy (docs/email.md, "Email addresses"):
//   1. refused outright: ill-formed UTF-16 (a lone surrogate would be stored as U+FFFD, so several inputs
//      would open one account), control, format, private-use, unassigned and default-ignorable code points
//      (zero-width joiners, variation selectors, fillers: invisible, so "a\u034Fb" looks like "ab");
//   2. canonical form: NFKC, lower-cased (fullwidth, mathematical, circled and other compatibility letters
//      fold to the plain ones), trimmed;
//   3. restriction level (UTS #39 "highly restrictive"): beyond ASCII, only letters, marks and digits of the
//      UAX #31 recommended scripts; the local part and the domain each in one script (or Latin with the
//      Han + kana / Han + Hangul / Han + Bopomofo combinations of Japanese, Korean and Chinese); i or j
//      followed by a combining dot above (what İ lower-cases to) is refused, since it looks like i or j;
//   4. confusable skeleton (UTS #39 §4, confusables.txt via the `unhomoglyph` package): stored in a unique
//      column, so an address whose skeleton is already taken is email_taken, whatever its script.
// Login looks an account up by its canonical form only: a look-alike spelling never opens someone's account.
import unhomoglyph from 'unhomoglyph';

const MAX_LENGTH = 254; // RFC 5321 path limit
const MAX_LOCAL = 64;
const SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u;
// In a /u pattern a valid pair is one code point, so \p{Cs} only matches a lone surrogate.
const UNSAFE = /[\p{Cc}\p{Cs}\p{Cf}\p{Co}\p{Cn}\p{Default_Ignorable_Code_Point}]/u;
const NON_ASCII_ALLOWED = /^[\p{L}\p{M}\p{Nd}]$/u;
const DOTTED_I = /\p{Soft_Dotted}\p{Mn}*\u0307/u;
const NEUTRAL = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/** UAX #31 Table 4, recommended scripts: the ones in modern everyday use. */
const RECOMMENDED_SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Thaana',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Georgian',
  'Hangul',
  'Ethiopic',
  'Khmer',
  'Mongolian',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
] as const;
const SCRIPT_TESTS = RECOMMENDED_SCRIPTS.map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u')] as const);
/** Several scripts that one writing system uses together (UTS #39 highly restrictive). */
const COMBINATIONS: ReadonlySet<string>[] = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

function scriptOf(char: string): string | null {
  for (const [name, test] of SCRIPT_TESTS) if (test.test(char)) return name;
  return null;
}

/** Whether one part of an address (local part or domain) passes the restriction level. */
function isSingleScript(part: string): boolean {
  const scripts = new Set<string>();
  for (const char of part) {
    if (char <= '\u007f') {
      if (/[a-z]/.test(char)) scripts.add('Latin');
      continue;
    }
    if (!NON_ASCII_ALLOWED.test(char)) return false;
    if (NEUTRAL.test(char)) continue;
    const script = scriptOf(char);
    if (!script) return false;
    scripts.add(script);
  }
  if (scripts.size <= 1) return true;
  return COMBINATIONS.some((allowed) => [...scripts].every((s) => allowed.has(s)));
}

/** The canonical form of an address, or null when it isn't one we accept (see the policy above). */
export function normalizeEmail(raw: string): string | null {
  if (UNSAFE.test(raw)) return null;
  const email = raw.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
  if (UNSAFE.test(email) || email.length > MAX_LENGTH || !SHAPE.test(email)) return null;
  const at = email.indexOf('@');
  if (at > MAX_LOCAL) return null;
  if (DOTTED_I.test(email.normalize('NFD'))) return null;
  if (!isSingleScript(email.slice(0, at)) || !isSingleScript(email.slice(at + 1))) return null;
  return email;
}

/** UTS #39 skeleton of a canonical address: equal for addresses that look alike. Compared, never shown. */
export function emailSkeleton(email: string): string {
  return unhomoglyph(email.normalize('NFD')).normalize('NFD');
}

/** What failed-guess counters are keyed by: the canonical form, or the raw input when there is none. */
export function throttleIdentity(raw: string): string {
  return normalizeEmail(raw) ?? raw.trim().toLowerCase();
}
