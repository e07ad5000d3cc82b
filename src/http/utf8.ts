// Request bodies must be UTF-8. A lenient decoder turns every invalid byte into U+FFFD, so different byte
// strings become one string: three spellings of one email, one account. Decoding is strict instead, and an
// invalid body is a 400 invalid_encoding before anything reads it.
import { AppError } from '../errors.js';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8(body: Buffer): string {
  try {
    return strict.decode(body);
  } catch {
    throw new AppError('invalid_encoding', { detail: 'request body is not valid UTF-8' });
  }
}

/** For a form body's values after percent-decoding (%FF decodes to U+FFFD too): refuse, don't guess. */
export function assertNoReplacementCharacter(values: Iterable<unknown>): void {
  for (const v of values) {
    const strings = Array.isArray(v) ? v : [v];
    if (strings.some((s) => typeof s === 'string' && s.includes('\ufffd'))) {
      throw new AppError('invalid_encoding', { detail: 'form value is not valid UTF-8 after percent-decoding' });
    }
  }
}
