// RFC 8693 token exchange, for one subject token type: a Tessera API key
// (subject_token_type=urn:tessera:params:oauth:token-type:api_key). The key is the credential: a script
// sends it and gets a short access token (ACCESS_TOKEN_TTL_SECONDS, 15 minutes by default) from the one
// token issuer, which resource services verify locally like any other. The caller need not be a registered
// client (the token route lets this exchange through without client authentication, src/routes/token.ts);
// the key names its owner. Scopes are the key's that the owner still has now (api-key-use.ts), narrowed by
// `scope` when asked; asking for more is invalid_scope. Any other subject token type, an actor token or a
// requested token type other than an access token is refused. A refused key is invalid_grant, whatever
// was wrong with it. No audit row: verification writes nothing on the hot path.
import { DomainError } from '../domain-error.js';
import { ApiKeyRefused } from '../api-keys/api-key-use.js';
import { param, type Grant } from './grant.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** Tessera's token type URN for its API keys (RFC 8693 §3 allows URIs of one's own). */
const API_KEY_TOKEN_TYPE = 'urn:tessera:params:oauth:token-type:api_key';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Whether a token request is an API-key exchange (the route lets it through without client credentials). */
export const isApiKeyExchange = (form: Readonly<Record<string, unknown>>): boolean =>
  form.grant_type === TOKEN_EXCHANGE && form.subject_token_type === API_KEY_TOKEN_TYPE;

function narrowed(held: string[], requested: string | undefined): string[] {
  if (requested === undefined || requested.trim() === '') return held;
  const asked = [...new Set(requested.split(' ').filter(Boolean))];
  const refused = asked.filter((s) => !held.includes(s));
  if (refused.length > 0) throw new DomainError('invalid_scope', { detail: `api key lacks ${refused.join(' ')}` });
  return asked;
}

export const tokenExchange: Grant = {
  type: TOKEN_EXCHANGE,
  publicClients: true,
  async handle({ form, services, admitApiKey }) {
    if (param(form, 'subject_token_type') !== API_KEY_TOKEN_TYPE)
      throw new DomainError('invalid_request', {
        message: `subject_token_type must be ${API_KEY_TOKEN_TYPE}.`,
      });
    if (param(form, 'actor_token') !== undefined)
      throw new DomainError('invalid_request', { message: 'actor_token is not supported.' });
    const requested = param(form, 'requested_token_type');
    if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE)
      throw new DomainError('invalid_request', { message: `requested_token_type must be ${ACCESS_TOKEN_TYPE}.` });
    const subject = param(form, 'subject_token');
    if (!subject) throw new DomainError('invalid_request', { message: 'subject_token is required.' });
    let key: Awaited<ReturnType<typeof services.apiKeys.use>>;
    try {
      key = await services.apiKeys.use(subject, admitApiKey);
    } catch (err) {
      if (err instanceof ApiKeyRefused)
        throw new DomainError('invalid_grant', {
          message: 'The API key is invalid, expired or revoked.',
          detail: err.message,
        });
      throw err;
    }
    const scopes = narrowed(key.scopes, param(form, 'scope'));
    const owner = key.owner;
    const response = await services.issuer.forApiKey(
      owner.kind === 'user'
        ? { kind: 'user', userId: owner.userId, scopes }
        : { kind: 'client', clientId: owner.clientId, audience: owner.audience, scopes },
    );
    return {
      // RFC 8693 §2.2.1: issued_token_type is required in the answer.
      response: { ...response, issued_token_type: ACCESS_TOKEN_TYPE },
      log: { event: 'api_key_exchanged', message: 'api key exchanged', apiKeyId: key.id, scope: response.scope },
    };
  },
};
