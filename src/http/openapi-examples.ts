// What /docs shows beside the schemas: an example body for the routes a newcomer tries first, and what each
// kind of answer means. Kept apart from the routes (they stay free of documentation) and from the plugin that
// builds the document (src/plugins/openapi.ts). test/integration/openapi.test.ts sends every example to its
// route, so an example the schema would refuse fails the build instead of misleading a reader.

const PASSWORD = 'correct horse battery staple';
const TOKEN = 'x7Jc0Wq2mQK1b8yQm3f5Vd9a2L4nR6tE8uY0iO2pA4s';

/** Example request bodies, by `METHOD /path` as the route is registered. */
export const BODY_EXAMPLES: Record<string, Record<string, unknown>> = {
  'POST /auth/register': { email: 'ada@example.com', password: PASSWORD },
  'POST /auth/login': { email: 'ada@example.com', password: PASSWORD },
  'POST /auth/password': { current_password: PASSWORD, new_password: 'another good passphrase' },
  'POST /auth/password/forgot': { email: 'ada@example.com' },
  'POST /auth/password/reset': { token: TOKEN, new_password: 'a new long passphrase' },
  'POST /auth/verify-email': { token: TOKEN },
  'POST /auth/email/change': { new_email: 'ada@new.example', current_password: PASSWORD },
  'POST /auth/mfa/verify': {
    mfa_token: TOKEN,
    factor_id: '3f0c2a8e-5b7d-4c1e-9a6f-2d4b8e1c7a90',
    code: '123456',
  },
  'POST /auth/api-keys': { name: 'nightly report', scopes: ['reports:read'], expires_in: 2592000 },
  'POST /oauth/token': { grant_type: 'client_credentials', scope: 'orders:sync' },
  'POST /oauth/introspect': { token: 'eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.…' },
  'POST /oauth/revoke': { token: 'eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.…' },
  'POST /auth/password/first': { new_password: 'a first long passphrase' },
  'POST /auth/passkeys/sign-in/options': { user_verification: 'required' },
  'POST /auth/api-keys/report-leak': { key: 'tsk_0G5erkanHtiW_jGKGSJtO28R9iRBrtSxY8ymSGhbIivp5BCrJS7wltn22uef3A' },
  'POST /admin/clients': {
    client_name: 'Notes for Desktop',
    redirect_uris: ['http://127.0.0.1/callback'],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid email offline_access',
  },
};

const CLIENT_ERROR =
  'A client error: an `ErrorBody` whose `code` says which (each code with its status: docs/errors.md). ' +
  '400: the request does not match the schema or the rule (the message names the field); ' +
  '401: no credential, or a bad or expired one (`WWW-Authenticate` says which); ' +
  '403: a valid credential that may not do this, or a cross-site browser request; 404: no such thing of yours; ' +
  '409: a conflict with the current state; 408, 413, 414, 415, 431: a request too slow, too large or of the ' +
  'wrong type; 429: a limit, with `Retry-After`. On /oauth/* the body also carries RFC 6749 `error` and ' +
  '`error_description`.';

const SERVER_ERROR =
  '503 `service_unavailable`: the database is unreachable, out of disk or the service is stopping; retry after ' +
  '`Retry-After` (nothing was half done). 500 `internal_error`: a bug; the body says nothing more, the log has ' +
  'the detail under the same `request_id`.';

const BY_STATUS: Record<string, string> = {
  '200': 'OK.',
  '201': 'Created.',
  '202': 'Accepted: the work is queued.',
  '204': 'Done; no body.',
  '302': 'A redirect: follow `Location`.',
  '303': 'A redirect: follow `Location`.',
  '304': 'Not modified since the `ETag` sent in `If-None-Match`.',
  '400': 'Refused: the answer says why (the codes: docs/errors.md).',
  '4xx': CLIENT_ERROR,
  '5xx': SERVER_ERROR,
};

/** What an answer with this status (or `4xx`/`5xx` range) means, for a response that does not say. */
export function responseDescription(status: string): string | undefined {
  return BY_STATUS[status.toLowerCase()];
}
