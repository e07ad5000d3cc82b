// A user's passkeys: registering one (options, then the authenticator's answer), listing, renaming, removing.
// Signing in with one is passkey-assertion.ts. Every registration is checked against this relying party's id
// and origins (src/config-webauthn.ts) by @simplewebauthn/server; the challenge is spent on first use
// (challenges.ts). The limit (MAX_PASSKEYS) and the last-way rule (src/domain/accounts/sign-in-methods.ts) are
// checked with the user row locked, so parallel requests can't pass them together. Adding and removing one
// writes an audit row and, when security notices are on, an email, in the same transaction.
import { randomUUID } from 'node:crypto';
import type {
  verifyRegistrationResponse,
  PublicKeyCredentialCreationOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { webauthnLibrary } from './webauthn-library.js';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import { audit, type RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { LOCKING_TX } from '../transactions.js';
import { lockAndKeepASignInMethod } from '../accounts/sign-in-methods.js';
import { CHALLENGE_TTL_SECONDS, type PasskeyChallenges } from './challenges.js';
import { MAX_PASSKEYS, userHandle, type PasskeySettings } from './passkey-settings.js';

/** Told, inside the transaction that adds or removes a passkey, so the user can be emailed. */
export type PasskeyNotice = (
  tx: Pick<Prisma.TransactionClient, '$executeRaw' | '$queryRaw'>,
  change: { userId: string; kind: 'added' | 'removed'; label: string },
  meta: RequestMeta,
  now: Date,
) => Promise<void>;

/** A passkey as its owner sees it in the list. */
export interface PasskeyView {
  id: string;
  label: string;
  /** The signature counter last seen (0: the authenticator keeps none). */
  signCount: number;
  transports: string[];
  /** singleDevice, or multiDevice for one that may be synced to other devices. */
  deviceType: string;
  backedUp: boolean;
  userVerified: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const LABEL_MAX = 64;

/** A label as stored: trimmed, 1 to 64 characters, no control characters; else passkey_label_invalid. */
function cleanLabel(label: string | undefined, fallback: string): string {
  const value = (label ?? fallback).trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (value.length < 1 || [...value].length > LABEL_MAX || /[\u0000-\u001f\u007f]/.test(value))
    throw new DomainError('passkey_label_invalid');
  return value;
}

export class Passkeys {
  constructor(
    private readonly db: PrismaClient,
    private readonly challenges: PasskeyChallenges,
    private readonly settings: PasskeySettings,
    private readonly clock: Clock,
    private readonly notice?: PasskeyNotice,
  ) {}

  /** The options for navigator.credentials.create(), and the id of their challenge. */
  async registrationOptions(
    userId: string,
  ): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
    const user = await this.db.user.findUnique({
      where: { id: userId },
      select: { email: true, passkeys: { select: { credentialId: true, transports: true } } },
    });
    if (!user) throw new DomainError('not_found', { detail: 'no such user' });
    if (user.passkeys.length >= MAX_PASSKEYS) throw new DomainError('passkey_limit_reached');
    const options = await (await webauthnLibrary()).generateRegistrationOptions({
      rpName: this.settings.rpName,
      rpID: this.settings.rpId,
      userName: user.email,
      userID: userHandle(userId),
      timeout: CHALLENGE_TTL_SECONDS * 1000,
      attestationType: 'none',
      // The same authenticator twice would be one passkey under two labels.
      excludeCredentials: user.passkeys.map((p) => ({ id: p.credentialId, transports: p.transports })),
      // Discoverable, so the passkey alone can sign in without an email (usernameless).
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    const challengeId = await this.challenges.issue('registration', userId, options.challenge, 'preferred');
    return { challengeId, options };
  }

  /** Checks the authenticator's answer to the challenge `challengeId` and keeps the passkey. */
  async register(
    userId: string,
    challengeId: string,
    response: RegistrationResponseJSON,
    label: string | undefined,
    meta: RequestMeta,
  ): Promise<PasskeyView> {
    const name = cleanLabel(label, 'Passkey');
    const claimed = await this.challenges.claim(challengeId, 'registration');
    if (claimed.userId !== userId)
      throw new DomainError('passkey_challenge_invalid', { detail: 'challenge issued to another user' });
    let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>['registrationInfo'];
    try {
      const verified = await (await webauthnLibrary()).verifyRegistrationResponse({
        response,
        expectedChallenge: claimed.challenge,
        expectedOrigin: this.settings.origins,
        expectedRPID: this.settings.rpId,
        requireUserVerification: false,
      });
      info = verified.registrationInfo;
    } catch (err) {
      throw new DomainError('passkey_registration_failed', { detail: `registration refused: ${String(err)}` });
    }
    if (!info) throw new DomainError('passkey_registration_failed', { detail: 'registration not verified' });
    const now = this.clock.now();
    const id = randomUUID();
    const { credential } = info;
    try {
      await this.db.$transaction(async (tx) => {
        // Lock, then count in a statement of its own: under READ COMMITTED its snapshot is taken after the lock
        // is granted, so it sees the passkey a registration that held the lock before us committed.
        const [locked] = await tx.$queryRaw<{ id: string }[]>`
          SELECT id::text FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
        if (!locked) throw new DomainError('not_found', { detail: 'no such user' });
        const passkeys = await tx.webauthnCredential.count({ where: { userId } });
        if (passkeys >= MAX_PASSKEYS) throw new DomainError('passkey_limit_reached');
        await tx.webauthnCredential.create({
          data: {
            id,
            userId,
            credentialId: credential.id,
            publicKey: credential.publicKey,
            counter: BigInt(credential.counter),
            transports: credential.transports ?? [],
            deviceType: info.credentialDeviceType,
            backedUp: info.credentialBackedUp,
            userVerified: info.userVerified,
            label: name,
            createdAt: now,
          },
        });
        await audit(tx, meta, now, { type: 'passkey_added', userId, reason: `passkey=${id}` });
        if (this.notice) await this.notice(tx, { userId, kind: 'added', label: name }, meta, now);
      }, LOCKING_TX);
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 'P2002') throw new DomainError('passkey_already_registered');
      throw err;
    }
    return {
      id,
      label: name,
      signCount: credential.counter,
      transports: credential.transports ?? [],
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      userVerified: info.userVerified,
      createdAt: now,
      lastUsedAt: null,
    };
  }

  async list(userId: string): Promise<PasskeyView[]> {
    const rows = await this.db.webauthnCredential.findMany({
      where: { userId },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map((r) => ({
      id: r.id,
      label: r.label,
      signCount: Number(r.counter),
      transports: r.transports,
      deviceType: r.deviceType,
      backedUp: r.backedUp,
      userVerified: r.userVerified,
      createdAt: r.createdAt,
      lastUsedAt: r.lastUsedAt,
    }));
  }

  async rename(userId: string, passkeyId: string, label: string, meta: RequestMeta): Promise<void> {
    const name = cleanLabel(label, '');
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.webauthnCredential.updateMany({
        where: { id: passkeyId, userId },
        data: { label: name },
      });
      if (count === 0) throw new DomainError('not_found', { detail: 'no such passkey of this user' });
      await audit(tx, meta, now, { type: 'passkey_renamed', userId, reason: `passkey=${passkeyId}` });
    });
  }

  /** Removes a passkey, unless it is the last way into the account (last_login_method). */
  async remove(userId: string, passkeyId: string, meta: RequestMeta): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      // The user row is locked first: the limit and the last-way rule see every committed change.
      if (!(await lockAndKeepASignInMethod(tx, userId, { passkey: passkeyId })))
        throw new DomainError('not_found', { detail: 'no such user' });
      const gone = await tx.webauthnCredential.findFirst({ where: { id: passkeyId, userId }, select: { label: true } });
      if (!gone) throw new DomainError('not_found', { detail: 'no such passkey of this user' });
      await tx.webauthnCredential.delete({ where: { id: passkeyId } });
      await audit(tx, meta, now, { type: 'passkey_removed', userId, reason: `passkey=${passkeyId}` });
      if (this.notice) await this.notice(tx, { userId, kind: 'removed', label: gone.label }, meta, now);
    }, LOCKING_TX);
  }
}
