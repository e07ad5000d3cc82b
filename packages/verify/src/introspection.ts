// RFC 7662 token introspection against Tessera, for requests that must see a revocation at once.
// Fails closed: anything but a well-formed 200 answer is `introspection_unavailable`, never a pass.
import { TesseraVerifyError } from './errors.js';
import type { ResolvedOptions } from './options.js';

export type IntrospectionConfig = NonNullable<ResolvedOptions['introspection']>;

/** application/x-www-form-urlencoded encoding of one value (spaces as '+', everything else escaped). */
const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice('v='.length);

/** HTTP Basic credentials as RFC 6749 §2.3.1 says: each part form-urlencoded before base64. */
function basicAuthorization(clientId: string, clientSecret: string): string {
  // The form encoding leaves only ASCII, so btoa can't throw.
  return `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`;
}

const unavailable = (cause: unknown) => new TesseraVerifyError('introspection_unavailable', { cause });

/** Resolves when the issuer says the token is active; throws token_revoked or introspection_unavailable. */
export async function introspect(token: string, config: IntrospectionConfig): Promise<void> {
  let response: Response;
  try {
    response = await fetch(config.url, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(config.clientId, config.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      // A redirect would send the client credentials somewhere we were not configured to trust.
      redirect: 'error',
      // Covers the body as well as the headers: a server that stalls mid-answer also times out.
      signal: AbortSignal.timeout(config.timeoutMs),
    });
  } catch (err) {
    throw unavailable(err);
  }

  let answer: unknown;
  try {
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`introspection answered HTTP ${response.status}`);
    }
    answer = await response.json();
  } catch (err) {
    throw unavailable(err);
  }
  const active = typeof answer === 'object' && answer !== null ? (answer as { active?: unknown }).active : undefined;
  if (typeof active !== 'boolean') throw unavailable(new Error('introspection answer has no boolean "active"'));
  if (!active) throw new TesseraVerifyError('token_revoked');
}
