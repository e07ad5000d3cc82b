// Schemas of the passkey routes (src/routes/passkeys.ts). The options and the authenticator's answers are
// WebAuthn's own JSON (the W3C's PublicKeyCredential*JSON, camelCase by that standard) so a page hands them to
// navigator.credentials (or PublicKeyCredential.parse*OptionsFromJSON, or @simplewebauthn/browser) unchanged;
// Tessera's own fields are snake_case. Those objects pass whole (additionalProperties): their members are the
// standard's, checked by @simplewebauthn/server, and a failed check is passkey_registration_failed or
// passkey_sign_in_failed.
import { Type } from 'typebox';

const B64U = Type.String({ pattern: '^[A-Za-z0-9_-]*={0,2}$', maxLength: 16384 });
const Open = { additionalProperties: true } as const;
/** The W3C's object, whole: its members are the standard's (camelCase), not Tessera's to rename or restate. */
const W3C = (description: string, required: Record<string, ReturnType<typeof Type.String>>) =>
  Type.Object(required, { ...Open, description });

export const ChallengeId = Type.String({ minLength: 16, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

export const CreationOptions = W3C(
  'PublicKeyCredentialCreationOptionsJSON (W3C WebAuthn Level 3): pass to PublicKeyCredential.parseCreationOptionsFromJSON() and navigator.credentials.create()',
  { challenge: Type.String() },
);

export const RequestOptions = W3C(
  'PublicKeyCredentialRequestOptionsJSON (W3C WebAuthn Level 3): pass to PublicKeyCredential.parseRequestOptionsFromJSON() and navigator.credentials.get()',
  { challenge: Type.String() },
);

/** RegistrationResponseJSON: what navigator.credentials.create() returned, as JSON (credential.toJSON()). */
export const RegistrationResponse = W3C(
  'RegistrationResponseJSON: credential.toJSON() of navigator.credentials.create()',
  {
    id: B64U,
    type: Type.String({ const: 'public-key' }),
  },
);

/** AuthenticationResponseJSON: what navigator.credentials.get() returned, as JSON (credential.toJSON()). */
export const AuthenticationResponse = W3C(
  'AuthenticationResponseJSON: credential.toJSON() of navigator.credentials.get()',
  {
    id: B64U,
    type: Type.String({ const: 'public-key' }),
  },
);

export const Label = Type.String({ minLength: 1, maxLength: 64 });

export const PasskeyBody = Type.Object({
  id: Type.String({ format: 'uuid' }),
  label: Type.String(),
  sign_count: Type.Integer({ description: 'The signature counter last seen; 0: the authenticator keeps none.' }),
  transports: Type.Array(Type.String()),
  device_type: Type.String({ description: 'singleDevice, or multiDevice for a passkey that may be synced' }),
  backed_up: Type.Boolean(),
  user_verified: Type.Boolean({ description: 'The authenticator verified the user when the passkey was added.' }),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
