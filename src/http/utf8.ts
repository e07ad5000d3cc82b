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

/** For a body some library already decoded leniently (form bodies): U+FFFD there was an invalid byte. */
export function assertNoReplacementCharacter(text: string): void {
  if (text.includes('\ufffd')) throw new AppError('invalid_encoding', { detail: 'request body is not valid UTF-8' });
}
