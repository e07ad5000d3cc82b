// The user's roles and email_verified as an access token states them, read by the statement that starts or
// refreshes a session (or redeems a code), so the token issuer (src/domain/tokens/token-issuer.ts) does not read
// them again. One subselect for every statement that reads them, and one way to parse what it returns.

/** The user's roles, space-separated in role order (NULL for none), of the user whose id is `userId` (SQL). */
export function rolesSql(userId: string): string {
  return `(SELECT string_agg(r.role, ' ' ORDER BY r.role) FROM user_roles r WHERE r.user_id = ${userId})`;
}

/** The roles `rolesSql` returned. */
export function rolesOf(column: string | null): string[] {
  return column ? column.split(' ') : [];
}
