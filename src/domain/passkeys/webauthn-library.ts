// @simplewebauthn/server (with its CBOR, ASN.1 and COSE parsers) was the most expensive import of boot: about half
// a second of CPU and 15 MB, for routes most deployments call rarely or never. The passkey code loads it here, on
// its first passkey request, once per process; boot and every other route never pay for it.
type WebAuthnLibrary = typeof import('@simplewebauthn/server');

let library: Promise<WebAuthnLibrary> | undefined;

export function webauthnLibrary(): Promise<WebAuthnLibrary> {
  library ??= import('@simplewebauthn/server');
  return library;
}
