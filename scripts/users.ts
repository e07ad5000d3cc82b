// npm run users -- grant <email> <role>                 give a user a role (the way to make the first admin)
// npm run users -- revoke <email> <role> [--end-sessions] take it away (optionally ending the user's sessions now)
// npm run users -- list [<email>]                        users that have roles, or one user's roles
// Works on DATABASE_URL directly, whether the service runs or not, with the same domain code as /admin, so
// each change writes its audit row (actor "cli"). The embedded database (pglite:<dir>) serves one process:
// while the service holds it, this refuses with a message and exit code 3; stop the service, or use /admin.
import { systemClock } from '../src/domain/clock.js';
import { normalizeEmail } from '../src/domain/accounts/emails.js';
import { Roles } from '../src/domain/authz/roles.js';
import { cliMeta, fail, runCli, withDatabase } from './cli-database.js';

const USAGE = 'usage: npm run users -- grant <email> <role> | revoke <email> <role> [--end-sessions] | list [<email>]';
const [cmd, email, role, flag] = process.argv.slice(2);

async function main(): Promise<void> {
  const valid =
    (cmd === 'grant' && email && role && !flag) ||
    (cmd === 'revoke' && email && role && (!flag || flag === '--end-sessions')) ||
    (cmd === 'list' && !role);
  if (!valid) fail(USAGE, 2);

  await withDatabase('grant roles through /admin', async (database) => {
    const db = database.prisma;
    const roles = new Roles(db, systemClock);
    const meta = cliMeta('npm run users');
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
  });
}

await runCli(main);
