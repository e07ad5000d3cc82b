// Request and response schemas shared by the routes. Responses are serialised through these,
// so a field a schema does not name can never reach a client.
import { Type } from 'typebox';
import { PASSWORD_MAX } from '../domain/accounts/passwords.js';

export const ErrorBody = Type.Object(
  {
    status_code: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable code; see the error catalog in docs/errors.md.' }),
    message: Type.String(),
    request_id: Type.String(),
    /** On /oauth/* only: the RFC 6749 §5.2 error code OAuth client libraries read. */
    error: Type.Optional(Type.String()),
    /** With `error`: the public message again, under the name OAuth client libraries read. */
    error_description: Type.Optional(Type.String()),
    /** step_up_required (RFC 9470): the level a step-up must reach, and how recent it must be (seconds). */
    acr_values: Type.Optional(Type.String()),
    max_age: Type.Optional(Type.Integer()),
  },
  { $id: 'ErrorBody' },
);

/** Every route answers errors in one shape. */
export const errorResponses = { '4xx': Type.Ref('ErrorBody'), '5xx': Type.Ref('ErrorBody') } as const;

export const Credentials = Type.Object(
  {
    // Generous bounds here; the real rules (normalisation, NIST lengths in code points) live in the domain.
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX * 4 }),
  },
  { additionalProperties: false },
);

export const UserBody = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  /** Whether the address was proved by following an emailed link (src/domain/recovery). */
  email_verified: Type.Optional(Type.Boolean()),
});

export const TokenBody = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Lifetime of the access token in seconds.' }),
});

export const NoBody = Type.Null({ description: 'No content' });
