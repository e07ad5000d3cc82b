// A user's second factors: enrolling a TOTP authenticator, confirming it, listing and removing factors, and
// taking a TOTP code. The table holds every kind of factor (its `type`); passkeys join it with their own type.
//
// A code works once (RFC 6238 §5.2): taking it is ONE statement that moves the factor's last accepted time step
// forward, `UPDATE … WHERE last_step < $step RETURNING`. Twenty requests with the same code: one moves the step,
// the others match nothing. A code older than the last one taken never matches (totp.ts), and the code that
// confirmed the enrolment moved the step already, so it opens no sign-in.
//
// An enrolment is pending until a valid code confirms it, within CONFIRM_SECONDS; an unconfirmed one is dropped
// (on the next enrolment, or when its confirmation comes too late). The secret is sealed (secret-box.ts).
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import type { RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { isUuid } from '../ids.js';
import type { MfaNotices } from './notices.js';
import type { SecretBox } from './secret-box.js';
import { matchTotpStep, newTotpSecret, normalizeTotpCode, totpUri } from './totp.js';
import { lockUser } from '../accounts/user-lock.js';

const CONFIRM_SECONDS = 10 * 60;

export interface FactorSummary {
  id: string;
  type: string;
  label: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface TotpEnrolment {
  factorId: string;
  secret: string;
  uri: string;
}

const TAKE_STEP = `
UPDATE mfa_factors SET last_step = $3::bigint, last_used_at = $4::timestamptz
WHERE id = $1::uuid AND user_id = $2::uuid AND type = 'totp' AND confirmed_at IS NOT NULL AND last_step < $3::bigint
RETURNING id`;

const CONFIRM = `
UPDATE mfa_factors SET last_step = $3::bigint, confirmed_at = $4::timestamptz, confirm_before = NULL
WHERE id = $1::uuid AND user_id = $2::uuid AND type = 'totp' AND confirmed_at IS NULL
  AND confirm_before > $4::timestamptz AND last_step < $3::bigint
RETURNING id`;

export class Factors {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly box: SecretBox,
    private readonly notices: MfaNotices,
    /** The name authenticator apps show (the otpauth URI's issuer). */
    private readonly issuerName: string,
    private readonly clock: Clock,
  ) {}

  /** Starts a TOTP enrolment: a pending factor, its secret (shown once) and the URI to scan. */
  async enrolTotp(userId: string, account: string): Promise<TotpEnrolment> {
    const now = this.clock.now();
    const id = randomUUID();
    const secret = newTotpSecret();
    await this.db.$transaction([
      // The user's row first, as every change to a user's factors takes it (see remove).
      lockUser(this.db, userId),
      this.db.mfaFactor.deleteMany({ where: { userId, confirmedAt: null, confirmBefore: { lte: now } } }),
      this.db.mfaFactor.create({
        data: {
          id,
          userId,
          type: 'totp',
          secret: this.box.seal(secret, id),
          createdAt: now,
          confirmBefore: new Date(now.getTime() + CONFIRM_SECONDS * 1000),
        },
      }),
    ]);
    return { factorId: id, secret, uri: totpUri(this.issuerName, account, secret) };
  }

  /** Activates a pending TOTP factor with a valid code; a wrong code leaves it pending, a late one drops it. */
  async confirmTotp(userId: string, factorId: string, code: string, meta: RequestMeta, sessionId: string) {
    const now = this.clock.now();
    const row = isUuid(factorId)
      ? await this.db.mfaFactor.findFirst({ where: { id: factorId, userId, type: 'totp', confirmedAt: null } })
      : null;
    if (!row) throw new DomainError('not_found', { detail: 'no pending factor of this id' });
    if (!row.confirmBefore || row.confirmBefore <= now) {
      await this.db.mfaFactor.deleteMany({ where: { id: factorId, confirmedAt: null } });
      throw new DomainError('not_found', { detail: 'enrolment not confirmed in time: dropped' });
    }
    const step = this.stepOf(row.id, row.secret, code, now, Number(row.lastStep));
    if (step === null) throw new DomainError('mfa_code_invalid', { detail: 'enrolment code does not match' });
    await this.db.$transaction(async (tx) => {
      const [won] = await tx.$queryRawUnsafe<{ id: string }[]>(CONFIRM, factorId, userId, step, now.toISOString());
      if (!won) throw new DomainError('mfa_code_invalid', { detail: 'enrolment code already taken' });
      await this.notices.record(
        tx,
        {
          audit: 'mfa_factor_added',
          mail: 'mfa_factor_added',
          userId,
          sessionId,
          reason: `type=totp factor=${factorId}`,
          vars: { factor: 'authenticator app (TOTP)' },
        },
        meta,
        now,
      );
    });
  }

  /** The active factors of a user, oldest first. */
  async list(userId: string): Promise<FactorSummary[]> {
    const rows = await this.db.mfaFactor.findMany({
      where: { userId, confirmedAt: { not: null } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      label: r.label,
      createdAt: r.confirmedAt ?? r.createdAt,
      lastUsedAt: r.lastUsedAt,
    }));
  }

  /** Removes a factor (active or pending); the owner is told about an active one. */
  async remove(userId: string, factorId: string, meta: RequestMeta, sessionId: string): Promise<void> {
    const now = this.clock.now();
    if (!isUuid(factorId)) throw new DomainError('not_found');
    await this.db.$transaction(async (tx) => {
      // The user's row first, as every change to a user's factors takes it (passkeys, an admin's reset): two
      // removals at once would each still see the other's factor and both keep the recovery codes.
      await lockUser(tx, userId);
      const [gone] = await tx.$queryRaw<{ type: string; confirmed: boolean }[]>`
        DELETE FROM mfa_factors WHERE id = ${factorId}::uuid AND user_id = ${userId}::uuid
        RETURNING type, confirmed_at IS NOT NULL AS confirmed`;
      if (!gone) throw new DomainError('not_found');
      if (!gone.confirmed) return;
      // The last factor gone: the recovery codes it backed go with it.
      const [left] = await tx.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM mfa_factors WHERE user_id = ${userId}::uuid AND confirmed_at IS NOT NULL`;
      if (left?.n === 0) await tx.$executeRaw`DELETE FROM mfa_recovery_codes WHERE user_id = ${userId}::uuid`;
      await this.notices.record(
        tx,
        {
          audit: 'mfa_factor_removed',
          mail: 'mfa_factor_removed',
          userId,
          sessionId,
          reason: `type=${gone.type} factor=${factorId}`,
          vars: { factor: gone.type === 'totp' ? 'authenticator app (TOTP)' : gone.type, by: 'by you' },
        },
        meta,
        now,
      );
    });
  }

  /**
   * Takes a TOTP code for a sign-in or a step-up: true when it matched a step after the factor's last one AND
   * this request's statement moved the step there. An unknown factor and a wrong code are the same false.
   */
  async takeTotp(userId: string, factorId: string, code: string): Promise<boolean> {
    const now = this.clock.now();
    const row = isUuid(factorId)
      ? await this.db.mfaFactor.findFirst({
          where: { id: factorId, userId, type: 'totp', confirmedAt: { not: null } },
          select: { id: true, secret: true, lastStep: true },
        })
      : null;
    if (!row) return false;
    const step = this.stepOf(row.id, row.secret, code, now, Number(row.lastStep));
    if (step === null) return false;
    const [won] = await this.sql.query<{ id: string }>(TAKE_STEP, [factorId, userId, step, now.toISOString()]);
    return !!won;
  }

  private stepOf(id: string, sealed: string | null, code: string, now: Date, lastStep: number): number | null {
    const normalized = normalizeTotpCode(code);
    if (!normalized || !sealed) return null;
    return matchTotpStep(this.box.open(sealed, id), normalized, now, lastStep);
  }
}
