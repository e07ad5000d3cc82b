// Recovery codes: the way back when the authenticator is lost. Ten codes of 80 bits each, in Crockford's base32
// (no I, L, O, U: nothing to misread, and what is typed is folded back: O → 0, I and L → 1, lower case, spaces
// and hyphens), shown once, stored as SHA-256 (80 random bits need no slow hash). A new set replaces the old
// one in the same transaction. Using one is ONE statement, `UPDATE … WHERE used_at IS NULL RETURNING`, so a code
// opens one sign-in however many requests carry it, and in any order.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Sql } from '../../db/sql.js';
import type { RequestMeta } from '../audit.js';
import type { Clock } from '../clock.js';
import type { MfaNotices } from './notices.js';
import { lockUser } from '../accounts/user-lock.js';

const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 16 characters of 5 bits: 80 bits. */
const CODE_CHARS = 16;

/** A typed code in its stored form (16 characters of the alphabet), or null when it cannot be one. */
export function normalizeRecoveryCode(input: string): string | null {
  const code = input.normalize('NFKC').toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return code.length === CODE_CHARS && [...code].every((c) => ALPHABET.includes(c)) ? code : null;
}

/** A new code, grouped in fours for reading: XXXX-XXXX-XXXX-XXXX. */
function newCode(): string {
  const bytes = randomBytes(CODE_CHARS);
  // 256 is a multiple of 32: each byte modulo 32 is uniform.
  const chars = [...bytes].map((b) => ALPHABET[b % 32]!).join('');
  return chars.match(/.{4}/g)!.join('-');
}

const hashOf = (normalized: string) => createHash('sha256').update(normalized, 'utf8').digest('base64url');

// The code is spent and the unused ones left counted in the same statement (the count sees the set before it).
const SPEND = `
WITH spent AS (
  UPDATE mfa_recovery_codes SET used_at = $3::timestamptz
  WHERE user_id = $1::uuid AND code_hash = $2 AND used_at IS NULL
  RETURNING id
)
SELECT (SELECT count(*)::int FROM mfa_recovery_codes WHERE user_id = $1::uuid AND used_at IS NULL) - 1 AS remaining
FROM spent`;

export class RecoveryCodes {
  constructor(
    private readonly db: PrismaClient,
    private readonly sql: Sql,
    private readonly notices: MfaNotices,
    private readonly clock: Clock,
  ) {}

  /** A new set for the user, replacing any earlier one. The codes are returned once and never again. */
  async regenerate(userId: string, meta: RequestMeta, sessionId: string): Promise<string[]> {
    const now = this.clock.now();
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    await this.db.$transaction(async (tx) => {
      // The user's row first, as every change to a user's factors takes it: the new codes' rows need it shared,
      // and a removal of the last factor holding it while waiting on the old codes would deadlock with this.
      await lockUser(tx, userId);
      await tx.mfaRecoveryCode.deleteMany({ where: { userId } });
      await tx.mfaRecoveryCode.createMany({
        data: codes.map((c) => ({
          id: randomUUID(),
          userId,
          codeHash: hashOf(normalizeRecoveryCode(c)!),
          createdAt: now,
        })),
      });
      await this.notices.record(tx, { audit: 'mfa_recovery_codes_generated', userId, sessionId }, meta, now);
    });
    return codes;
  }

  /** How many unused codes the user has. */
  remaining(userId: string): Promise<number> {
    return this.db.mfaRecoveryCode.count({ where: { userId, usedAt: null } });
  }

  /** Spends a code: the number of unused codes left, or null when it is not an unused code of this user. */
  async spend(userId: string, input: string): Promise<number | null> {
    const normalized = normalizeRecoveryCode(input);
    if (!normalized) return null;
    const [row] = await this.sql.query<{ remaining: number }>(SPEND, [
      userId,
      hashOf(normalized),
      this.clock.now().toISOString(),
    ]);
    return row ? row.remaining : null;
  }

  /** Tells the owner a code was used, and how many remain (audit row and email). */
  async announce(userId: string, remaining: number, meta: RequestMeta, sessionId: string | null): Promise<void> {
    const now = this.clock.now();
    await this.db.$transaction((tx) =>
      this.notices.record(
        tx,
        {
          audit: 'mfa_recovery_code_used',
          mail: 'mfa_recovery_code_used',
          userId,
          sessionId,
          reason: `remaining=${remaining}`,
          vars: { remaining: String(remaining) },
        },
        meta,
        now,
      ),
    );
  }
}
