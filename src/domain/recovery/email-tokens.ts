// The tokens sent by email (password reset, address verification). Each is 256 random bits; only its SHA-256
// is stored (a fast hash is enough for a secret this long: there is nothing to guess), with its purpose, its
// user, the address it was sent to and a short expiry. Using one is a single UPDATE that marks it used only if
// it is unused, unexpired, of this purpose, and its user still has that address: of any number of concurrent
// uses exactly one matches, and it runs in the caller's transaction, so a failure after it un-uses it. It locks
// the user's row first, so the flows that go on to change the account take their locks in one order.
import { createHash, randomBytes } from 'node:crypto';
import { Prisma } from '../../generated/prisma/client.js';

export type TokenPurpose = 'password_reset' | 'verify_email' | 'email_change' | 'email_change_undo';

/** 32 bytes, base64url: 43 characters. */
export const EMAIL_TOKEN_PATTERN = '^[A-Za-z0-9_-]{43}$';

type Tx = Pick<Prisma.TransactionClient, '$executeRaw' | '$queryRaw'>;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export interface TokenGrant {
  hash: string;
  purpose: TokenPurpose;
  userId: string;
  email: string;
  ttlSeconds: number;
}

export async function insertToken(tx: Tx, grant: TokenGrant, now: Date): Promise<void> {
  const expiresAt = new Date(now.getTime() + grant.ttlSeconds * 1000);
  await tx.$executeRaw`
    INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_at, expires_at)
    VALUES (${grant.hash}, ${grant.purpose}, ${grant.userId}::uuid, ${grant.email}, ${now}, ${expiresAt})`;
}

type Grant = { userId: string; email: string };

/**
 * Marks the token used and returns its user and address; null for unknown, used, expired or wrong-purpose. With
 * `currentAddress`, also null when the user's address is no longer the one the token was sent to.
 */
async function consume(tx: Tx, token: string, purpose: TokenPurpose, now: Date, currentAddress: boolean) {
  // The user's row is locked before the token's, in the same statement: every flow that then changes the account
  // and spends its other tokens (a reset, an undo, a provider taking an account back) takes the locks in that
  // order, so two of them at once queue instead of deadlocking. The UPDATE re-checks used_at on the token's
  // latest version, so of any number of concurrent uses still exactly one matches.
  const rows = await tx.$queryRaw<{ user_id: string; email: string }[]>`
    WITH owner AS (
      SELECT u.id FROM email_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_hash = ${hashToken(token)} AND t.purpose = ${purpose} AND t.used_at IS NULL
        AND t.expires_at > ${now} ${currentAddress ? Prisma.sql`AND u.email = t.email` : Prisma.empty}
      FOR UPDATE OF u
    )
    UPDATE email_tokens t SET used_at = ${now}
    FROM owner, users u
    WHERE t.token_hash = ${hashToken(token)} AND t.purpose = ${purpose} AND t.used_at IS NULL
      AND t.expires_at > ${now} AND u.id = owner.id AND u.id = t.user_id
      ${currentAddress ? Prisma.sql`AND u.email = t.email` : Prisma.empty}
    RETURNING t.user_id::text AS user_id, t.email`;
  const row = rows[0];
  return row ? { userId: row.user_id, email: row.email } : null;
}

/** A token sent to the user's current address (reset, verification): spent once, and only while it is current. */
export function consumeToken(tx: Tx, token: string, purpose: TokenPurpose, now: Date): Promise<Grant | null> {
  return consume(tx, token, purpose, now, true);
}

/**
 * A token sent to an address that is not the user's current one (an email change's new address, the old address
 * an undo restores): the same single-use rule, bound to purpose and user, not to users.email.
 */
export function consumeAddressToken(tx: Tx, token: string, purpose: TokenPurpose, now: Date): Promise<Grant | null> {
  return consume(tx, token, purpose, now, false);
}

/** Marks every other unused token of this purpose of the user used (a confirmed change spends the other change links). */
export async function spendOthers(tx: Tx, userId: string, purpose: TokenPurpose, now: Date): Promise<void> {
  await tx.$executeRaw`
    UPDATE email_tokens SET used_at = ${now} WHERE user_id = ${userId}::uuid AND purpose = ${purpose} AND used_at IS NULL`;
}

/**
 * Marks every unused token of the user used, whatever its purpose, except those of `keep`. What a credential
 * reset does: a link mailed before it (a reset, a verification, an email-change confirmation an intruder asked
 * for) must not act on the account after it.
 */
export async function spendPending(tx: Tx, userId: string, now: Date, keep: TokenPurpose[] = []): Promise<number> {
  const kept = keep.length ? Prisma.sql`AND purpose NOT IN (${Prisma.join(keep)})` : Prisma.empty;
  return tx.$executeRaw`
    UPDATE email_tokens SET used_at = ${now} WHERE user_id = ${userId}::uuid AND used_at IS NULL ${kept}`;
}
