// The user code of the device authorization grant (RFC 8628 §6.1): what a person reads on a TV or a terminal
// and types on their phone. Eight letters from RFC 8628's own twenty consonants (no vowels, so no words; no
// digits, so no 0/O or 1/I/L confusion), shown as XXXX-XXXX, and read back whatever the case, spaces or dashes.
// 20^8 ≈ 2.56·10^10 codes (34.6 bits): enough only because guesses are limited (device-guesses.ts).
import { createHash, randomInt } from 'node:crypto';

export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;

/** A new random user code, in its canonical form (eight letters, no dash). */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** How the code is shown: XXXX-XXXX. */
export function displayUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * What a person typed, in the canonical form: upper case, without spaces or dashes; null when it cannot be a
 * user code (another length, or a letter outside the alphabet).
 */
export function normaliseUserCode(typed: string): string | null {
  if (typed.length > 64) return null;
  const code = typed.toUpperCase().replace(/[\s\-‐‑–—]/g, '');
  if (code.length !== USER_CODE_LENGTH) return null;
  for (const c of code) if (!USER_CODE_ALPHABET.includes(c)) return null;
  return code;
}

/** What is stored of a canonical user code. */
export const userCodeHash = (code: string) =>
  createHash('sha256').update(`user-code|${code}`, 'utf8').digest('base64url');
