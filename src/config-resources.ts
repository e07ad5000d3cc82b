// The settings of the resource side of the authorization server (RFC 8707 resource indicators) and of dynamic
// client registration (RFC 7591), validated at boot with the rest of src/config.ts and kept in their own file
// so the feature reads as one block. Registered resources are configuration, not a table: a resource is a
// deployed service (its URL changes with a deployment, like AUDIENCE), an operator adds one when deploying it,
// and a typo must stop the boot rather than hand out tokens for a URL nobody serves.
import { Type, type Static } from 'typebox';

const Flag = Type.Unsafe<'true' | 'false'>({ type: 'string', enum: ['true', 'false'] });
const SCOPE = /^[A-Za-z0-9._:/-]{1,64}$/;

/** Spread into the env schema of src/config.ts. */
export const ResourceEnvFields = {
  /** RFC 8707: the resources (access-token audiences) any client may name, comma-separated absolute URIs. */
  RESOURCES: Type.String({ default: '' }),
  /** RFC 7591 registration at /oauth/register by anyone: off unless set to true. */
  DYNAMIC_REGISTRATION: Type.Optional(Flag),
  /** The scopes a dynamically registered client may be given (space-separated). */
  DYNAMIC_REGISTRATION_SCOPES: Type.String({ default: 'openid profile email offline_access' }),
  /** Registrations per client address per hour (0: no limit). */
  DYNAMIC_REGISTRATION_PER_HOUR: Type.Integer({ minimum: 0, maximum: 100000, default: 10 }),
  /** Days a dynamically registered client with no live grant is kept. */
  DYNAMIC_REGISTRATION_TTL_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
};
const FieldsSchema = Type.Object(ResourceEnvFields);
type ResourceEnv = Static<typeof FieldsSchema>;

export interface ResourceConfig {
  /** Registered resources (RFC 8707): exact strings a `resource` parameter is compared with. */
  resources: string[];
  dynamicRegistration: {
    enabled: boolean;
    scopes: string[];
    perHour: number;
    ttlDays: number;
  };
}

const LOOPBACK = ['127.0.0.1', '[::1]', 'localhost'];

/** Why a resource URI can't be registered (RFC 8707 §2: absolute, no fragment), or null. */
function resourceProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URI';
  }
  if (value.length > 256) return 'must be at most 256 characters';
  if (url.hash || value.includes('#')) return 'must not contain a fragment';
  if (url.username || url.password) return 'must not contain user information';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK.includes(url.hostname)) return null;
  return 'must be https (or http on a loopback host)';
}

export function resourceConfig(env: ResourceEnv, fail: (message: string) => never): ResourceConfig {
  const resources = [
    ...new Set(
      env.RESOURCES.split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    ),
  ];
  for (const r of resources) {
    const problem = resourceProblem(r);
    if (problem) fail(`invalid configuration: RESOURCES entry ${JSON.stringify(r.slice(0, 100))} ${problem}`);
  }
  const scopes = [...new Set(env.DYNAMIC_REGISTRATION_SCOPES.split(' ').filter(Boolean))];
  if (scopes.length === 0 || !scopes.every((s) => SCOPE.test(s)))
    fail('invalid configuration: DYNAMIC_REGISTRATION_SCOPES takes space-separated scopes of A-Z a-z 0-9 . _ : / -');
  return {
    resources,
    dynamicRegistration: {
      enabled: env.DYNAMIC_REGISTRATION === 'true',
      scopes,
      perHour: env.DYNAMIC_REGISTRATION_PER_HOUR,
      ttlDays: env.DYNAMIC_REGISTRATION_TTL_DAYS,
    },
  };
}
