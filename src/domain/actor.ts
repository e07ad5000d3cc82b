// Who acted on an account or a session, for audit rows: shared by authz/ (roles, account admin) and sessions/
// (ending sessions), so neither folder imports the other for it.

/** Who changes a role or an account: an admin user, a service client with the admin scope, or the CLI. */
export type Actor = { kind: 'user'; id: string } | { kind: 'client'; id: string } | { kind: 'cli' };

export const actorName = (a: Actor): string => (a.kind === 'cli' ? 'cli' : `${a.kind}:${a.id}`);
