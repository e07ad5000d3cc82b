// npm run users -- grant <email> <role>                 give a user a role (the way to make the first admin)
// npm run users -- revoke <email> <role> [--end-sessions] take it away (optionally ending the user's sessions now)
// npm run users -- list [<email>]                        users that have roles, or one user's roles
// Works on DATABASE_URL directly, whether the service runs or not, with the same domain code as /admin, so
// each change writes its audit row (actor "cli"). The embedded database (pglite:<dir>) serves one process:
// while the service holds it, this refuses with a message and exit code 3; stop the service, or use /admin.
import { randomUUID } from 'node:crypto';
import { loadConfig, ConfigError } from '../src/config.js';
import { openDatabase } from '../src/db/open.js';
import { DataDirError } from '../src/db/data-dir.js';
import { systemClock } from '../src/domain/clock.js';
import { DomainError } from '../src/domain/domain-error.js';
import { normalizeEmail } from '../src/domain/accounts/emails.js';
import { Roles } from '../src/domain/authz/roles.js';

const USAGE = 'usage: npm run users -- grant <email> <role> | revoke <email> <role> [--end-sessions] | list [<email>]';
const [cmd, email, role, flag] = process.argv.slice(2);

/** Ends the command with a message and an exit code (after the database is closed). */
class Failure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
function fail(message: string, exitCode: number): never {
  throw new Failure(message, exitCode);
}

async function main(): Promise<void> {
  const valid =
    (cmd === 'grant' && email && role && !flag) ||
    (cmd === 'revoke' && email && role && (!flag || flag === '--end-sessions')) ||
    (cmd === 'list' && !role);
  if (!valid) fail(USAGE, 2);

  let url: string;
  try {
    url = loadConfig(process.env).databaseUrl;
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }

  let database: Awaited<ReturnType<typeof openDatabase>>;
  try {
    database = await openDatabase(url);
  } catch (err) {
    if (err instanceof DataDirError) fail(`${err.message}. Stop the service first, or grant roles through /admin.`, 3);
    throw err;
  }

  try {
    const db = database.prisma;
    const roles = new Roles(db, systemClock);
    const meta = { ip: 'local', userAgent: 'npm run users', requestId: `cli-${randomUUID()}` };
    const findUser = async (raw: string) => {
      const normalized = normalizeEmail(raw);
      const user = normalized
        ? await db.user.findUnique({ where: { email: normalized }, select: { id: true, email: true } })
        : null;
      if (!user) fail(`no user with email ${raw}`, 4);
      return user;
    };
    if (cmd === 'grant' || cmd === 'revoke') {
      const user = await findUser(email!);
      const changed =
        cmd === 'grant'
          ? await roles.grant(user.id, role!, { kind: 'cli' }, meta)
          : await roles.revoke(user.id, role!, { kind: 'cli' }, meta, { endSessions: flag === '--end-sessions' });
      const verb = cmd === 'grant' ? (changed ? 'granted' : 'already had') : changed ? 'revoked' : 'did not have';
      console.log(`${user.email}: ${verb} ${role}; roles now: ${(await roles.of(user.id)).join(' ') || '(none)'}`);
    } else if (email) {
      const user = await findUser(email);
      console.log(`${user.email}\t${user.id}\t${(await roles.of(user.id)).join(' ')}`);
    } else {
      const users = await db.user.findMany({
        where: { roles: { some: {} } },
        orderBy: { email: 'asc' },
        select: { id: true, email: true, roles: { select: { role: true }, orderBy: { role: 'asc' } } },
      });
      for (const u of users) console.log(`${u.email}\t${u.id}\t${u.roles.map((r) => r.role).join(' ')}`);
    }
  } catch (err) {
    if (err instanceof DomainError) fail(`${err.code}: ${err.publicMessage ?? err.message}`, 2);
    throw err;
  } finally {
    await database.close();
  }
}

try {
  await main();
} catch (err) {
  if (!(err instanceof Failure)) throw err;
  console.error(err.message);
  process.exitCode = err.exitCode;
}
