// Email addresses are compared in one form: trimmed and lower-cased.
// Validation is deliberately plain (one @, a dot in the domain, no spaces or control characters):
// deliverability is proved by mail, not by regular expressions.

const MAX_LENGTH = 254; // RFC 5321 path limit
const MAX_LOCAL = 64;
const SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u;
// eslint-disable-next-line no-control-regex -- control characters are exactly what we reject
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

export function normalizeEmail(raw: string): string | null {
  const email = raw.trim().toLowerCase();
  if (email.length > MAX_LENGTH || CONTROL.test(email) || !SHAPE.test(email)) return null;
  if (email.indexOf('@') > MAX_LOCAL) return null;
  return email;
}
