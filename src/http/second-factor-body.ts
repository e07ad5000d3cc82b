// The ways a request offers a second factor, in one place: POST /auth/mfa/verify (with the sign-in's
// mfa_token) and POST /auth/step-up (with the Bearer token) take the same three, and turn them into the
// domain's SecondStepProof (src/domain/mfa/second-step.ts) the same way.
import { Type, type TProperties } from 'typebox';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { SecondStepProof } from '../domain/mfa/second-step.js';
import { AuthenticationResponse, ChallengeId } from './passkey-schemas.js';

/** An app's code, a recovery code, or a passkey's answer; `extra`: the fields every variant also carries. */
export function secondFactorBody<P extends TProperties>(extra: P) {
  return Type.Union([
    Type.Object(
      {
        ...extra,
        factor_id: Type.String({ maxLength: 64 }),
        code: Type.String({ minLength: 1, maxLength: 32 }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { ...extra, recovery_code: Type.String({ minLength: 1, maxLength: 64 }) },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        ...extra,
        challenge_id: ChallengeId,
        response: AuthenticationResponse,
      },
      { additionalProperties: false, description: 'A passkey: the answer to the passkey options of challenge_id.' },
    ),
  ]);
}

type ProofBody =
  | { factor_id: string; code: string }
  | { recovery_code: string }
  | { challenge_id: string; response: unknown };

/** The domain's proof for a request body of secondFactorBody. */
export function proofOf(body: ProofBody): SecondStepProof {
  if ('recovery_code' in body) return { kind: 'recovery_code', code: body.recovery_code };
  if ('challenge_id' in body)
    return {
      kind: 'passkey',
      challengeId: body.challenge_id,
      response: body.response as unknown as AuthenticationResponseJSON,
    };
  return { kind: 'totp', factorId: body.factor_id, code: body.code };
}
