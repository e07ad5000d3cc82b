// Schemas of the passkey routes (src/routes/passkeys.ts). The options and the authenticator's answers are
// WebAuthn's own JSON (the W3C's PublicKeyCredential*JSON, camelCase by that standard) so a page hands them to
// navigator.credentials (or PublicKeyCredential.parse*OptionsFromJSON, or @simplewebauthn/browser) unchanged;
// Tessera's own fields are snake_case. Named members are listed so the serializer sends them; unknown
// extension members pass through (additionalProperties), the library checks what it uses.
import { Type } from 'typebox';

const B64U = Type.String({ pattern: '^[A-Za-z0-9_-]*={0,2}$', maxLength: 16384 });
const Open = { additionalProperties: true } as const;
const Descriptor = Type.Object(
  { id: Type.String(), type: Type.String(), transports: Type.Optional(Type.Array(Type.String())) },
  Open,
);
const Extensions = Type.Object({}, Open);

export const ChallengeId = Type.String({ minLength: 16, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

export const CreationOptions = Type.Object(
  {
    rp: Type.Object({ name: Type.String(), id: Type.Optional(Type.String()) }),
    user: Type.Object({ id: Type.String(), name: Type.String(), displayName: Type.String() }),
    challenge: Type.String(),
    pubKeyCredParams: Type.Array(Type.Object({ alg: Type.Integer(), type: Type.String() })),
    timeout: Type.Optional(Type.Integer()),
    excludeCredentials: Type.Optional(Type.Array(Descriptor)),
    authenticatorSelection: Type.Optional(
      Type.Object({
        authenticatorAttachment: Type.Optional(Type.String()),
        residentKey: Type.Optional(Type.String()),
        requireResidentKey: Type.Optional(Type.Boolean()),
        userVerification: Type.Optional(Type.String()),
      }),
    ),
    hints: Type.Optional(Type.Array(Type.String())),
    attestation: Type.Optional(Type.String()),
    attestationFormats: Type.Optional(Type.Array(Type.String())),
    extensions: Type.Optional(Extensions),
  },
  { description: 'PublicKeyCredentialCreationOptionsJSON: pass to navigator.credentials.create()' },
);

export const RequestOptions = Type.Object(
  {
    challenge: Type.String(),
    timeout: Type.Optional(Type.Integer()),
    rpId: Type.Optional(Type.String()),
    allowCredentials: Type.Optional(Type.Array(Descriptor)),
    userVerification: Type.Optional(Type.String()),
    hints: Type.Optional(Type.Array(Type.String())),
    extensions: Type.Optional(Extensions),
  },
  { description: 'PublicKeyCredentialRequestOptionsJSON: pass to navigator.credentials.get()' },
);

/** RegistrationResponseJSON: what navigator.credentials.create() returned, as JSON (credential.toJSON()). */
export const RegistrationResponse = Type.Object(
  {
    id: B64U,
    rawId: B64U,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64U,
        attestationObject: B64U,
        authenticatorData: Type.Optional(B64U),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
        publicKey: Type.Optional(B64U),
      },
      Open,
    ),
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 32 })),
    clientExtensionResults: Type.Object({}, Open),
  },
  Open,
);

/** AuthenticationResponseJSON: what navigator.credentials.get() returned, as JSON (credential.toJSON()). */
export const AuthenticationResponse = Type.Object(
  {
    id: B64U,
    rawId: B64U,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64U,
        authenticatorData: B64U,
        signature: B64U,
        userHandle: Type.Optional(B64U),
      },
      Open,
    ),
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 32 })),
    clientExtensionResults: Type.Object({}, Open),
  },
  Open,
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
