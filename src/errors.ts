// The error catalog: every error a client can see, with its stable code, HTTP status and public message.
// Clients and tests rely on `code`; messages may be reworded. Internal detail goes to the log only.

export const errorCatalog = {
  invalid_request: { status: 400, message: 'The request is invalid.' },
  malformed_json: { status: 400, message: 'The request body is not valid JSON.' },
  invalid_encoding: { status: 400, message: 'The request body is not valid UTF-8.' },
  refresh_cookie_conflict: {
    status: 400,
    message: 'More than one refresh cookie was sent, so none is used. Log in again.',
  },
  invalid_email: { status: 400, message: 'The email address is not valid.' },
  invalid_password: { status: 400, message: 'The password must be 8 to 256 characters long.' },
  password_too_common: {
    status: 400,
    message: 'This password is one of the most common (it appears in lists of leaked passwords). Choose another.',
  },
  invalid_role: {
    status: 400,
    message: 'A role is 1 to 64 characters: lowercase letters, digits and . _ : - (starting with a letter).',
  },
  invalid_scope: { status: 400, message: 'A requested scope is unknown or not allowed for this client.' },
  unsupported_grant_type: { status: 400, message: 'This grant type is not supported.' },
  // The OAuth authorization server (src/domain/oauth/): RFC 6749 and RFC 7591 codes, sent as `error` too.
  invalid_grant: {
    status: 400,
    message: 'The authorization code or refresh token is invalid, expired, used, or was issued to another client.',
  },
  unauthorized_client: { status: 400, message: 'This client may not use this grant type.' },
  invalid_client_metadata: { status: 400, message: 'The client metadata is invalid.' },
  invalid_redirect_uri: { status: 400, message: 'A redirect URI is invalid.' },
  authorization_request_invalid: {
    status: 400,
    message:
      'The application sent an authorization request Tessera cannot answer safely: unknown client or redirect URI.',
  },
  // Pushed authorization requests (RFC 9126, src/domain/oauth/pushed-requests.ts).
  invalid_request_uri: {
    status: 400,
    message:
      'The request_uri is unknown, expired, already used, or was pushed by another client. The application must start again.',
  },
  // The external login and consent UI (LOGIN_UI_URL / CONSENT_UI_URL, src/domain/oauth/ui-challenges.ts), and one
  // code per authorization request.
  authorization_challenge_invalid: {
    status: 400,
    message:
      'The login or consent challenge is unknown, expired, already decided or completed, or of another browser or step.',
  },
  authorization_request_completed: {
    status: 400,
    message: 'This authorization request was already completed. The application must start again.',
  },
  authorization_page_disabled: {
    status: 404,
    message: 'This service signs in and asks for consent on its own pages. The application must start again.',
  },
  email_token_invalid: {
    status: 400,
    message: 'The link is invalid, was already used, or has expired. Ask for a new one.',
  },
  // Sign in with a provider (src/domain/federation/). The callback sends these as ?error= to the SPA.
  return_to_invalid: { status: 400, message: 'return_to must be a URL on one of the allowed origins.' },
  oauth_state_invalid: {
    status: 400,
    message: 'This sign-in was not started in this browser, has expired or was already used. Start again.',
  },
  oauth_access_denied: { status: 400, message: 'The sign-in was cancelled at the provider.' },
  oauth_provider_error: { status: 400, message: 'The provider refused the sign-in.' },
  oauth_code_rejected: {
    status: 400,
    message: 'The provider did not accept the sign-in (used twice or expired). Start again.',
  },
  oauth_response_invalid: { status: 400, message: 'The answer from the provider did not pass its checks.' },
  oauth_email_unverified: {
    status: 400,
    message: 'The provider did not confirm a verified email address for this account.',
  },
  // Resource indicators and dynamic registration (RFC 8707, RFC 7591), sent as `error` too.
  invalid_target: { status: 400, message: 'The resource is not a registered resource this client may use.' },
  // The device authorization grant (RFC 8628 §3.5): the token endpoint's answers to a device that polls.
  authorization_pending: { status: 400, message: 'The user has not yet approved or denied this device.' },
  slow_down: { status: 400, message: 'Polling too often: wait the interval (now 5 seconds longer) between polls.' },
  access_denied: { status: 400, message: 'The request was denied, or can no longer be approved.' },
  expired_token: { status: 400, message: 'The device code has expired. Start again.' },
  user_code_invalid: {
    status: 400,
    message: 'This code is not valid: it may have expired or already been used. Check the code on your device.',
  },
  missing_token: { status: 401, message: 'A bearer access token is required.' },
  invalid_token: { status: 401, message: 'The access token is invalid or has expired.' },
  invalid_credentials: { status: 401, message: 'The email or password is incorrect.' },
  invalid_client: { status: 401, message: 'Client authentication failed.' },
  refresh_token_missing: { status: 401, message: 'No refresh token was sent.' },
  refresh_token_invalid: { status: 401, message: 'The refresh token is not valid.' },
  refresh_token_reused: {
    status: 401,
    message: 'The refresh token was already used; the session has been ended. Log in again.',
  },
  session_expired: { status: 401, message: 'The session has expired. Log in again.' },
  session_revoked: { status: 401, message: 'The session has ended. Log in again.' },
  csrf_rejected: { status: 403, message: 'Cross-site request refused.' },
  current_password_incorrect: { status: 403, message: 'The current password is incorrect.' },
  insufficient_scope: { status: 403, message: 'The token does not carry the role or scope this request needs.' },
  account_disabled: { status: 403, message: 'This account is disabled. Contact an administrator.' },
  reauthentication_required: { status: 403, message: 'Confirm your current password (or log in again) to do this.' },
  email_not_verified: {
    status: 403,
    message: 'Confirm your email address before logging in: follow the link we sent you.',
  },
  not_found: { status: 404, message: 'No such resource.' },
  // API keys (src/domain/api-keys/).
  api_key_expiry_invalid: { status: 400, message: 'expires_in is outside the allowed range.' },
  api_key_not_rollable: { status: 409, message: 'This API key is revoked, expired or already rolled.' },
  email_taken: { status: 409, message: 'An account with this email already exists.' },
  email_already_verified: { status: 409, message: 'This email address is already verified.' },
  account_link_required: {
    status: 409,
    message:
      'An account with this email already exists. Log in with your existing method, then link this provider from your account.',
  },
  identity_in_use: { status: 409, message: 'This provider account is already linked to another user.' },
  password_already_set: { status: 409, message: 'The account already has a password; change it with the current one.' },
  last_login_method: {
    status: 409,
    message: 'This is the last way to log in to the account; add another before removing it.',
  },
  last_admin: {
    status: 409,
    message: 'This is the last administrator: grant the admin role to another account first.',
  },
  // Passkeys (WebAuthn, src/domain/passkeys/).
  passkey_challenge_invalid: {
    status: 400,
    message: 'This passkey request is unknown, expired, already used or for another step. Ask for new options.',
  },
  passkey_registration_failed: { status: 400, message: 'The authenticator’s answer did not pass the checks.' },
  passkey_label_invalid: { status: 400, message: 'A passkey label is 1 to 64 characters.' },
  passkey_sign_in_failed: { status: 401, message: 'The passkey was not recognised or its answer did not verify.' },
  passkey_user_verification_required: {
    status: 401,
    message: 'This sign-in needs the authenticator to verify you (PIN or biometrics).',
  },
  passkey_counter_invalid: {
    status: 401,
    message: 'This passkey’s signature counter went backwards, a sign that it was copied. Use another way in.',
  },
  passkey_limit_reached: { status: 409, message: 'An account holds at most 10 passkeys: remove one first.' },
  passkey_already_registered: { status: 409, message: 'This passkey is already registered.' },
  request_timeout: { status: 408, message: 'The request did not arrive in time.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  uri_too_long: { status: 414, message: 'The request path is too long.' },
  unsupported_media_type: { status: 415, message: 'The request body must be application/json.' },
  too_many_requests: { status: 429, message: 'Too many requests. Try again after the time in Retry-After.' },
  headers_too_large: { status: 431, message: 'The request headers are too large.' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
  service_unavailable: { status: 503, message: 'The service is temporarily unavailable. Try again shortly.' },
  oauth_provider_unavailable: { status: 503, message: 'The identity provider cannot be reached. Try again shortly.' },
  // Second factors (src/domain/mfa/).
  mfa_code_invalid: { status: 400, message: 'The code is wrong, expired or was already used.' },
  mfa_token_invalid: {
    status: 401,
    message: 'This sign-in step has expired, was already completed or had too many wrong codes. Sign in again.',
  },
  mfa_locked: {
    status: 429,
    message: 'Too many wrong second-factor codes: try again after the time in Retry-After.',
  },
  // Second factors required by role (src/domain/mfa/role-policy.ts).
  mfa_enrolment_required: {
    status: 403,
    message: 'Your role requires a second factor: add one (POST /auth/mfa/totp) before using this.',
  },
  // Client ID Metadata Documents (src/domain/oauth/client-documents.ts).
  client_metadata_document_refused: {
    status: 400,
    message:
      'The application identifies itself with a client metadata document Tessera could not use (its address, answer or content is not acceptable).',
  },
  // Step-up (RFC 9470) and passkeys as a second factor (src/domain/mfa/step-up.ts, docs/step-up.md).
  step_up_required: {
    status: 401,
    message:
      'Confirm with your second factor (POST /auth/step-up) to do this: acr_values and max_age say what is needed.',
  },
  passkeys_disabled: { status: 400, message: 'Passkeys are not enabled on this server.' },
  // Webhooks for auth events (src/domain/webhooks/).
  webhook_url_invalid: {
    status: 400,
    message:
      'The webhook URL must be an absolute https URL (http where allowed) without credentials, on a public address.',
  },
  webhook_event_type_unknown: { status: 400, message: 'An event type is not in the webhook event catalogue.' },
  webhook_delivery_in_flight: {
    status: 409,
    message: 'This delivery is being sent right now: wait for its outcome, then re-send it if it failed.',
  },
  // An administrator's reset of second factors (src/domain/mfa/factor-reset.ts).
  mfa_reset_own_account: {
    status: 403,
    message:
      'An administrator cannot reset their own second factors: remove them with DELETE /auth/mfa/factors/{factor_id}.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Public, specific explanation (e.g. which field failed validation); never internal detail. */
  readonly publicMessage: string;
  /** Seconds, sent as Retry-After. */
  readonly retryAfter: number | undefined;
  /** step_up_required: the level and age the request needs (RFC 9470's challenge, and the body's fields). */
  readonly stepUp: StepUpChallenge | undefined;

  constructor(
    code: ErrorCode,
    opts: { message?: string; detail?: string; cause?: unknown; retryAfter?: number; stepUp?: StepUpChallenge } = {},
  ) {
    // `detail` becomes the Error message: it goes to logs, never to clients.
    super(opts.detail ?? code, { cause: opts.cause });
    this.code = code;
    this.statusCode = errorCatalog[code].status;
    this.publicMessage = opts.message ?? errorCatalog[code].message;
    this.retryAfter = opts.retryAfter;
    this.stepUp = opts.stepUp;
  }
}

/** What a step-up must reach: acr_values (space-separated) and max_age in seconds (RFC 9470 §3). */
export interface StepUpChallenge {
  acrValues: string;
  maxAge: number;
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
