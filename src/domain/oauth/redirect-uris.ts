// Which redirect URIs a client may register, and whether a presented one is a registered one. The one rule:
// exact string comparison. The one exception is RFC 8252 §7.3: a native app listens on a loopback port the
// OS picks at run time, so a registration of `http://127.0.0.1/path` or `http://[::1]/path` (no port) also
// matches the same string with any port inserted. Nothing else is normalised: no case folding, no trailing
// slash, no prefix, no default port, no percent-decoding; `localhost` only as registered, port and all.
// Pure functions: the unit tier tests every variant an attacker tries.

const LOOPBACK_WITH_PORT = /^(http:\/\/(?:127\.0\.0\.1|\[::1\])):([1-9][0-9]{0,4})(\/[^#]*)?$/;
const LOOPBACK_REGISTRATION = /^http:\/\/(?:127\.0\.0\.1|\[::1\])(\/[^#]*)?$/;
/** RFC 8252 §7.1: a private-use scheme in reverse-DNS form (at least one dot), e.g. com.example.app:/callback. */
const PRIVATE_USE = /^([a-z][a-z0-9+-]*\.)+[a-z][a-z0-9+-]*:\/[^/#\s][^#\s]*$/;
const MAX_LENGTH = 2000;

/** Why a URI can't be registered, or null when it can. */
export function redirectUriProblem(uri: string): string | null {
  if (uri.length === 0 || uri.length > MAX_LENGTH) return 'must be 1 to 2000 characters';
  if ([...uri].some((c) => c <= ' ' || c === '\u007f' || /\s/.test(c)))
    return 'must not contain whitespace or control characters';
  if (uri.includes('#')) return 'must not contain a fragment';
  if (PRIVATE_USE.test(uri)) return null;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URI';
  }
  // What the parser would write differently (case, default port, dot segments) is refused: the stored
  // string is the one compared, so it must be the canonical one.
  if (url.href !== uri && `${url.href}` !== `${uri}/`) return 'must be written in canonical form';
  if (url.username || url.password) return 'must not contain user information';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)) return null;
  return 'must be https, a loopback http URI (127.0.0.1, [::1], localhost) or a reverse-DNS private-use scheme';
}

/** Whether `presented` is one of `registered` (exact, or a loopback IP registration with any port). */
export function redirectUriMatches(registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true;
  const m = LOOPBACK_WITH_PORT.exec(presented);
  if (!m || Number(m[2]) > 65535) return false;
  const withoutPort = `${m[1]}${m[3] ?? ''}`;
  return registered.some((r) => r === withoutPort && LOOPBACK_REGISTRATION.test(r));
}
