// npm run api-keys -- new (--user <email> | --client <id>) --name <name> [--scopes "<a b>"] [--expires-in <s>]
// npm run api-keys -- list [--user <email> | --client <id>]
// npm run api-keys -- revoke <id>
// npm run api-keys -- roll <id> [--overlap <seconds>] [--expires-in <seconds>]
// API keys from the command line, with the same domain code as /auth/api-keys and /admin (src/domain/api-keys/),
// so scopes are checked against the owner's rights and every change writes its audit row (actor "cli"). It
// works on DATABASE_URL and reads the pepper from KEYS_DIR (the service's own). A new or rolled key is
// printed once, on stdout, alone on its line; everything else goes to stderr. Exit codes are those of the
// other commands (scripts/cli-database.ts): 2 usage or refused input, 3 the embedded database (pglite:<dir>)
// is held by the running service, 4 no such user or key.
import { parseArgs } from 'node:util';
import { systemClock } from '../src/domain/clock.js';
import { normalizeEmail } from '../src/domain/accounts/emails.js';
import { ApiKeys, type ApiKeyInfo, type ApiKeyOwner } from '../src/domain/api-keys/api-keys.js';
import { ensureApiKeyPepper } from '../src/domain/keys/api-key-pepper.js';
import { ServiceClients, parseClientEntry } from '../src/domain/tokens/service-clients.js';
import { cliMeta, fail, runCli, withDatabase } from './cli-database.js';

const USAGE = `usage: npm run api-keys -- new (--user <email> | --client <id>) --name <name> [--scopes "<a b>"] [--expires-in <s>]
       npm run api-keys -- list [--user <email> | --client <id>]
       npm run api-keys -- revoke <id>
       npm run api-keys -- roll <id> [--overlap <seconds>] [--expires-in <seconds>]`;

function args() {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        user: { type: 'string' },
        client: { type: 'string' },
        name: { type: 'string' },
        scopes: { type: 'string', default: '' },
        'expires-in': { type: 'string' },
        overlap: { type: 'string', default: '0' },
      },
    });
  } catch {
    return fail(USAGE, 2);
  }
}

const seconds = (v: string | undefined) => {
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(v)) fail(`not a number of seconds: ${v}`, 2);
  return Number(v);
};

const line = (k: ApiKeyInfo) =>
  [
    k.id,
    k.owner.kind === 'user' ? `user:${k.owner.userId}` : `client:${k.owner.clientId}`,
    JSON.stringify(k.name),
    k.scopes.join(' ') || '-',
    `expires ${k.expiresAt.toISOString()}`,
    k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'live',
    `last used ${k.lastUsedAt?.toISOString() ?? 'never'}`,
  ].join('\t');

async function main(): Promise<void> {
  const { values: o, positionals } = args();
  const [cmd, id, extra] = positionals;
  const valid =
    extra === undefined &&
    ((cmd === 'new' && !id && o.name && (o.user === undefined) !== (o.client === undefined)) ||
      (cmd === 'list' && !id && !(o.user && o.client)) ||
      ((cmd === 'revoke' || cmd === 'roll') && id));
  if (!valid) fail(USAGE, 2);

  await withDatabase('use /auth/api-keys or /admin', async (database, config) => {
    const { pepper } = await ensureApiKeyPepper(config.keysDir);
    const clients = new ServiceClients(config.serviceClients.map(parseClientEntry));
    const keys = new ApiKeys(database.prisma, pepper, clients, config.apiKeys, systemClock);
    const meta = cliMeta('npm run api-keys');
    const owner = async (): Promise<ApiKeyOwner | undefined> => {
      if (o.client) return { kind: 'client', clientId: o.client };
      if (!o.user) return undefined;
      const email = normalizeEmail(o.user);
      const user = email ? await database.prisma.user.findUnique({ where: { email }, select: { id: true } }) : null;
      if (!user) fail(`no user with email ${o.user}`, 4);
      return { kind: 'user', userId: user.id };
    };
    if (cmd === 'new') {
      const scopes = o.scopes.split(/\s+/).filter(Boolean);
      const made = await keys.create(
        (await owner())!,
        { name: o.name!, scopes, expiresIn: seconds(o['expires-in']) },
        { kind: 'cli' },
        meta,
      );
      console.error(`${line(made.info)}\nthe key (shown once):`);
      console.log(made.key);
    } else if (cmd === 'list') {
      for (const k of await keys.list(await owner())) console.log(line(k));
    } else if (cmd === 'revoke') {
      console.log(line(await keys.revoke(id!, undefined, { kind: 'cli' }, meta)));
    } else {
      const made = await keys.roll(
        id!,
        undefined,
        { overlapSeconds: seconds(o.overlap) ?? 0, expiresIn: seconds(o['expires-in']) },
        { kind: 'cli' },
        meta,
      );
      console.error(`${line(made.info)}\nthe new key (shown once); ${id} works ${o.overlap} s more:`);
      console.log(made.key);
    }
  });
}

await runCli(main);
