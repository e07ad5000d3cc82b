// The cheapest round trip that proves the database answers: readiness asks it, so the health route holds
// no SQL of its own.
import type { Database } from './open.js';

export async function ping(database: Pick<Database, 'prisma'>): Promise<void> {
  await database.prisma.$queryRaw`SELECT 1`;
}
