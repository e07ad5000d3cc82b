// @tessera/verify: checks Tessera access tokens in another service. What it checks, and why, is in
// this package's README.md; contract.ts is the part Tessera itself imports (`@tessera/verify/contract`).
export { createVerifier, MAX_TOKEN_LENGTH, type TesseraVerifier, type VerifyOptions } from './verifier.js';
export { TesseraVerifyError, type TesseraVerifyErrorCode } from './errors.js';
export type { TesseraClaims } from './claims.js';
export type { VerifierOptions, IntrospectionOptions, TesseraAlgorithm } from './options.js';
export { default as tesseraAuth, type TesseraAuthCode, type TesseraAuthOptions } from './fastify.js';
export {
  resourceMetadataUrl,
  type ProtectedResourceMetadata,
  type ResourceMetadataOptions,
} from './resource-metadata.js';
export { requireRoles, requireScopes, tokenKind, type Requirements, type TokenKind } from './require.js';
