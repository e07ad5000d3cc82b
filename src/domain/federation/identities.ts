// Who a provider's user is in Tessera: an identity (provider, subject) already linked, a new link, or a
// new account. And a user's own identities: list, unlink.
//
// Linking policy. An identity is found by (provider, subject), never by email. A sign-in whose email
// matches an existing account links to it automatically ONLY when the provider asserts the email is
// verified AND the provider is trusted_for_linking in IDENTITY_PROVIDERS_FILE. Anything else would let
// whoever controls an account at some provider (or a provider that does not verify emails, or lets users
// pick any address) take over the Tessera account holding that address. The sign-in is refused instead
// (account_link_required): the user logs in the usual way and links the provider from there. A new
// account also needs a verified email: an unverified one would squat someone else's address; it starts
// verified, since the provider vouched for the address.
//
// The account matched is the one with exactly this normalised address. The confusable skeleton stops
// look-alike *registrations*; it never names an identity's account: a verified address whose skeleton an
// account with another address holds signs nobody in (email_taken), as a registration would be refused.
//
// Pre-account takeover: anyone can register an address they don't own, with a password, and wait for the
// owner to sign in with a provider. So when the account matched has never verified its address, the
// provider's verified email is the first proof of who owns it: before the identity is linked, everything the
// earlier holder could use is removed (src/domain/recovery/account-reclaim.ts: password, identities,
// sessions, pending email links) and the address counts as verified. An account whose address was verified
// (by its link, a confirmed change, or a provider) keeps its password: its holder proved the same address.
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { lockAndKeepASignInMethod } from '../accounts/sign-in-methods.js';
import { emailSkeleton, normalizeEmail } from '../accounts/emails.js';
import { reclaimAccount } from '../recovery/account-reclaim.js';
import { holdLiveSession } from '../accounts/user-lock.js';
import { LOCKING_TX } from '../transactions.js';
import type { ProviderSettings } from './providers.js';
import type { ProviderProfile } from './upstream.js';
import type { LinkRequest } from './flows.js';

export interface IdentityView {
  id: string;
  provider: string;
  email: string | null;
  createdAt: Date;
  lastUsedAt: Date;
}

export type Resolution = 'existing' | 'linked' | 'created';

export class Identities {
  constructor(
    private readonly db: PrismaClient,
    private readonly clock: Clock,
  ) {}

  /**
   * The user this provider profile signs in (or, with `link`, the user it is being linked to, from the session
   * that asked, which must still be live). Throws DomainError: account_link_required, oauth_email_unverified,
   * identity_in_use, session_revoked.
   */
  async resolve(
    provider: ProviderSettings,
    profile: ProviderProfile,
    link: LinkRequest | null,
    meta: RequestMeta,
  ): Promise<{ userId: string; resolution: Resolution }> {
    try {
      return await this.resolveOnce(provider, profile, link, meta);
    } catch (err) {
      // Two first sign-ins of one identity at once: one created it; the other now finds it.
      if (!isUniqueViolation(err)) throw err;
      return this.resolveOnce(provider, profile, link, meta);
    }
  }

  private async resolveOnce(
    provider: ProviderSettings,
    profile: ProviderProfile,
    asked: LinkRequest | null,
    meta: RequestMeta,
  ) {
    const now = this.clock.now();
    const assertedEmail = profile.email ? normalizeEmail(profile.email) : null;
    const linkUserId = asked?.userId ?? null;
    return this.db.$transaction(async (tx) => {
      if (asked) {
        // The user's row and the asking session's row, shared (user-lock.ts): an end of the session (its own
        // sign-out, a sign-out everywhere, a reset, a take-back) either committed before and is seen here, or
        // waits until this link has committed. A link asked for by a session that has ended is refused.
        if (!asked.sessionId || !(await holdLiveSession(tx, asked.userId, asked.sessionId, now)))
          throw new DomainError('session_revoked', { detail: 'the session that asked for the link has ended' });
      }
      const signIn = async () => {
        const known = await tx.identity.findUnique({
          where: { provider_subject: { provider: provider.id, subject: profile.subject } },
        });
        if (!known) return null;
        if (linkUserId && known.userId !== linkUserId)
          throw new DomainError('identity_in_use', { detail: 'identity belongs to another user' });
        await tx.identity.update({ where: { id: known.id }, data: { lastUsedAt: now, email: assertedEmail } });
        return { userId: known.userId, resolution: 'existing' as const };
      };
      const existing = await signIn();
      if (existing) return existing;
      const addIdentity = (userId: string) =>
        tx.identity.create({
          data: {
            id: randomUUID(),
            userId,
            provider: provider.id,
            subject: profile.subject,
            email: assertedEmail,
            createdAt: now,
            lastUsedAt: now,
          },
        });
      const link = async (userId: string, how: string) => {
        await addIdentity(userId);
        await audit(tx, meta, now, { type: 'identity_linked', userId, reason: `idp=${provider.id} ${how}` });
        return { userId, resolution: 'linked' as const };
      };
      // A signed-in user asked for this link: the provider's email does not matter.
      if (linkUserId) return link(linkUserId, 'by_user');
      if (!assertedEmail || !profile.emailVerified) {
        throw new DomainError('oauth_email_unverified', {
          detail: assertedEmail ? 'provider did not assert email_verified' : 'provider gave no usable email',
        });
      }
      // One statement, one snapshot: the exact address and its look-alikes are read together, so a first sign-in
      // of this identity committing meanwhile is seen as the holder (and found again below), never as a look-alike.
      const skeleton = emailSkeleton(assertedEmail);
      const found = await tx.user.findMany({
        where: { OR: [{ email: assertedEmail }, { emailSkeleton: skeleton }] },
        select: { id: true, email: true },
      });
      const holder = found.find((u) => u.email === assertedEmail);
      if (holder) {
        // Each statement sees what was committed when it started (READ COMMITTED): a first sign-in of this
        // same identity may have committed, account and identity together, between the two lookups above.
        const raced = await signIn();
        if (raced) return raced;
        if (!provider.trustedForLinking)
          throw new DomainError('account_link_required', {
            detail: `email held by an account; ${provider.id} is not trusted for linking`,
          });
        // Locked before it is read again: a verification or a first link of the same account waits here.
        const [current] = await tx.$queryRaw<{ verified: boolean }[]>`
          SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE id = ${holder.id}::uuid FOR UPDATE`;
        if (!current?.verified) {
          await reclaimAccount(tx, holder.id, now, meta, {
            reason: 'account_reclaimed',
            why: `idp=${provider.id} verified an unverified address`,
          });
          await tx.user.update({ where: { id: holder.id }, data: { emailVerifiedAt: now } });
        }
        return link(holder.id, 'by_verified_email');
      }
      if (found.length > 0)
        throw new DomainError('email_taken', { detail: 'a look-alike address holds the skeleton of this email' });
      const userId = randomUUID();
      await tx.user.create({
        data: {
          id: userId,
          email: assertedEmail,
          emailSkeleton: skeleton,
          passwordHash: null,
          createdAt: now,
          emailVerifiedAt: now,
        },
      });
      await addIdentity(userId);
      await audit(tx, meta, now, { type: 'register', userId, reason: `idp=${provider.id}` });
      return { userId, resolution: 'created' as const };
    }, LOCKING_TX);
  }

  /** Records a refused sign-in (no user is known, or the one the email names). */
  async refused(provider: string, code: string, meta: RequestMeta): Promise<void> {
    await audit(this.db, meta, this.clock.now(), {
      type: 'federated_login_refused',
      reason: `idp=${provider} ${code}`,
    });
  }

  async list(userId: string): Promise<IdentityView[]> {
    return this.db.identity.findMany({
      where: { userId },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, provider: true, email: true, createdAt: true, lastUsedAt: true },
    });
  }

  /**
   * Removes one of the user's identities, unless it is the last way to log in (no password, no other identity,
   * no passkey). The user row is locked, so two unlinks at once can't remove the last two.
   */
  async unlink(userId: string, identityId: string, meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      // A password, another identity or a passkey must remain (src/domain/accounts/sign-in-methods.ts). The user
      // is locked first and the identity read after: one read before the lock could find an identity that a
      // removal holding the lock has deleted by the time this one runs.
      const known = await lockAndKeepASignInMethod(tx, userId, { identity: identityId });
      const target = known
        ? await tx.identity.findFirst({ where: { id: identityId, userId }, select: { provider: true } })
        : null;
      if (!target) throw new DomainError('not_found', { detail: 'no such identity of this user' });
      await tx.identity.delete({ where: { id: identityId } });
      await audit(tx, meta, now, { type: 'identity_unlinked', userId, reason: `idp=${target.provider}` });
    }, LOCKING_TX);
  }
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2002';
}
