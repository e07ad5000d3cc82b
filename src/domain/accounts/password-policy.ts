// What a NEW password must be (NIST SP 800-63B §5.1.1.2): the length rule of passwords.ts, and not one of
// the passwords attackers try first. The list is @zxcvbn-ts/language-common's common-password dictionary
// (about 49,000 passwords ranked by frequency in breach corpora, maintained by the zxcvbn-ts project, MIT),
// shipped inside the package: screening never calls the network. Entries shorter than the minimum length are
// dropped (the length rule refuses them already). Comparison is on the NFKC form, case-folded, so
// "Password1" is caught like "password1"; a password of one character repeated is refused too.
// Only new passwords are screened (registration, reset, change, first password): a login with a password
// set before the list grew still works, so nobody is locked out by an update of the list.
import { dictionary } from '@zxcvbn-ts/language-common';
import { DomainError } from '../domain-error.js';
import { PASSWORD_MIN, isAcceptablePassword } from './passwords.js';

let common: Set<string> | undefined;

function commonPasswords(): Set<string> {
  common ??= new Set(dictionary['passwords-common'].filter((p) => [...p].length >= PASSWORD_MIN));
  return common;
}

/** Builds the list now (at boot) rather than on the first registration. */
export function loadCommonPasswords(): number {
  return commonPasswords().size;
}

function isCommonPassword(password: string): boolean {
  const folded = password.normalize('NFKC').toLowerCase();
  const chars = [...folded];
  if (chars.every((c) => c === chars[0])) return true;
  return commonPasswords().has(folded);
}

/** Throws invalid_password (length, encoding) or password_too_common; else returns. */
export function assertNewPassword(password: string): void {
  if (!isAcceptablePassword(password)) throw new DomainError('invalid_password');
  if (isCommonPassword(password))
    throw new DomainError('password_too_common', { detail: 'new password is on the common-password list' });
}
