// Who acted on an account or a session, for audit rows: shared by authz/ (roles, account admin) and sessions/
// (ending sessions), so neither folder imports the other for it.

/** Who changes a role, an account or a client: an admin user, a service client with the admin scope, or the CLI. */
/** 'registration': an anonymous caller of /oauth/register (RFC 7591 dynamic registration). */
export type Actor =
  | { kind: 'user'; id: string }
  | { kind: 'client'; id: string }
  | { kind: 'cli' }
  | { kind: 'registration' };

export const actorName = (a: Actor): string =>
  a.kind === 'cli' ? 'cli' : a.kind === 'registration' ? 'dynamic_registration' : `${a.kind}:${a.id}`;
