// What the passkey ceremonies are checked against (src/config-webauthn.ts, validated at boot), and the one place
// a user's id becomes a WebAuthn user handle: the UUID's 16 bytes, no personal data, the same on every device.
export interface PasskeySettings {
  rpId: string;
  rpName: string;
  origins: string[];
}

/** At most this many passkeys per account. */
export const MAX_PASSKEYS = 10;

/** The user handle an authenticator stores with a discoverable credential, and returns when signing in. */
export const userHandle = (userId: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(Buffer.from(userId.replaceAll('-', ''), 'hex'));

/** The user handle as a browser sends it back (base64url). */
export const userHandleText = (userId: string): string => Buffer.from(userHandle(userId)).toString('base64url');
