// The settings of the authorization endpoint's front end: whether every client must push its requests first
// (RFC 9126 §5), validated at boot with the rest of src/config.ts and kept in their own file so the feature
// reads as one block.
import { Type, type Static } from 'typebox';

const Flag = Type.Unsafe<'true' | 'false'>({ type: 'string', enum: ['true', 'false'] });

/** Spread into the env schema of src/config.ts. */
export const AuthorizationEnvFields = {
  /** RFC 9126 §5: every client must use /oauth/par (a client's registration may require it for itself). */
  REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: Type.Optional(Flag),
};
const FieldsSchema = Type.Object(AuthorizationEnvFields);
type AuthorizationEnv = Static<typeof FieldsSchema>;

export interface AuthorizationConfig {
  /** Every authorization request must arrive as a pushed request_uri. */
  requirePushedRequests: boolean;
}

export function authorizationConfig(env: AuthorizationEnv): AuthorizationConfig {
  return { requirePushedRequests: env.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS === 'true' };
}
