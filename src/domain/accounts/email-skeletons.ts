// Fills in users.email_skeleton for accounts made before the column existed: SQL can't compute a UTS #39
// skeleton, so the migration leaves it NULL and each instance runs this at boot (a no-op once done).
// Where two old accounts already share a skeleton (look-alikes registered before the policy), the older
// keeps it and the other stays NULL: both still log in, and no third look-alike can register.
import type { PrismaClient } from '../../generated/prisma/client.js';
import { emailSkeleton } from './emails.js';

const BATCH = 500;

/** Returns how many accounts got a skeleton and how many share one with an older account. */
export async function backfillEmailSkeletons(db: PrismaClient): Promise<{ filled: number; shared: number }> {
  let filled = 0;
  let shared = 0;
  let after: { createdAt: Date; id: string } | undefined;
  for (;;) {
    const users = await db.user.findMany({
      where: {
        emailSkeleton: null,
        ...(after
          ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, email: true, createdAt: true },
      take: BATCH,
    });
    if (users.length === 0) return { filled, shared };
    for (const user of users) {
      try {
        const { count } = await db.user.updateMany({
          where: { id: user.id, emailSkeleton: null },
          data: { emailSkeleton: emailSkeleton(user.email) },
        });
        filled += count;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'P2002') throw err;
        shared += 1;
      }
    }
    after = users.at(-1)!;
  }
}
