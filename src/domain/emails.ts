// Email addresses are compared in one form: trimmed, Unicode NFC, lower-cased.
// Validation is deliberately plain (one @, a dot in the domain, no spaces or control characters):
// deliverability is proved by mail, not by regular expressions. What is refused is what makes two
// different-looking strings one account, or one string look like another: ill-formed UTF-16 (a lone
// surrogate would be stored as U+FFFD, so several inputs would open the same account) and invisible
// format characters (zero-width joiners, bidirectional overrides: look-alike addresses).

const MAX_LENGTH = 254; // RFC 5321 path limit
const MAX_LOCAL = 64;
const SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u;
// eslint-disable-next-line no-control-regex -- control characters are exactly what we reject
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// In a /u pattern a valid pair is one code point, so \p{Cs} only matches a lone surrogate.
const UNSAFE = /[\p{Cs}\p{Cf}\p{Co}\p{Cn}]/u;

export function normalizeEmail(raw: string): string | null {
  if (UNSAFE.test(raw)) return null;
  const email = raw.trim().normalize('NFC').toLowerCase();
  if (email.length > MAX_LENGTH || CONTROL.test(email) || !SHAPE.test(email)) return null;
  if (email.indexOf('@') > MAX_LOCAL) return null;
  return email;
}
