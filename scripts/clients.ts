// npm run clients -- register <metadata>            register an OAuth client (RFC 7591 JSON, inline or @file)
// npm run clients -- list                           every OAuth client: id, auth method, state, name
// npm run clients -- show <client_id>               one client, as JSON in RFC 7591's names
// npm run clients -- update <client_id> <metadata>  replace its metadata (RFC 7592)
// npm run clients -- disable|enable <client_id>     disabling ends every grant it holds
// npm run clients -- delete <client_id>             its grants end and its consents are forgotten
// npm run clients -- new <client_id>                a secret for a service client (SERVICE_CLIENTS)
// OAuth clients are changed on DATABASE_URL with the domain code /admin/clients calls (OAuthClients), so
// every change writes the same audit row, with the actor "cli"; a client secret is printed once, by the
// register (or update) that made it. Service clients live in configuration: `new` only makes the secret
// and the entry (only the secret's SHA-256 is kept on Tessera's side).
import { readFile } from 'node:fs/promises';
import { systemClock } from '../src/domain/clock.js';
import { OAuthClients, registrationOf } from '../src/domain/oauth/clients.js';
import type { ClientMetadataInput } from '../src/domain/oauth/client-metadata.js';
import { CLIENT_ID_PATTERN, hashClientSecret, newClientSecret } from '../src/domain/tokens/service-clients.js';
import { cliMeta, fail, runCli, withDatabase } from './cli-database.js';

const USAGE = `usage: npm run clients -- register <metadata> | list | show <client_id> | update <client_id> <metadata>
                          | disable <client_id> | enable <client_id> | delete <client_id> | new <service_client_id>
  <metadata>: RFC 7591 client metadata as JSON, inline or @file (client_name, redirect_uris,
              token_endpoint_auth_method, grant_types, scope, jwks, resources, first_party,
              require_pushed_authorization_requests, …)`;

const [cmd, ...args] = process.argv.slice(2);
const arity: Record<string, number> = {
  register: 1,
  list: 0,
  show: 1,
  update: 2,
  disable: 1,
  enable: 1,
  delete: 1,
  new: 1,
};

/** The metadata argument: JSON, or @path to a JSON file. Shape errors are the domain's to name. */
async function metadata(arg: string): Promise<ClientMetadataInput> {
  let text = arg;
  if (arg.startsWith('@')) {
    try {
      text = await readFile(arg.slice(1), 'utf8');
    } catch {
      fail(`cannot read ${arg.slice(1)}`, 2);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail('the metadata is not JSON', 2);
  }
  const m = value as Partial<ClientMetadataInput> | null;
  if (typeof m !== 'object' || m === null || typeof m.client_name !== 'string' || !Array.isArray(m.redirect_uris))
    fail('the metadata needs client_name (a string) and redirect_uris (an array)', 2);
  return m as ClientMetadataInput;
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

async function main(): Promise<void> {
  if (!cmd || arity[cmd] !== args.length) fail(USAGE, 2);
  const [first, second] = args as [string, string];

  if (cmd === 'new') {
    if (!CLIENT_ID_PATTERN.test(first)) fail('client_id: 1-64 of A-Z a-z 0-9 . _ ~ -', 2);
    const secret = newClientSecret();
    console.log(`client_id:     ${first}`);
    console.log(`client_secret: ${secret}   (shown once; store it in the service's secret store)`);
    console.log(
      `entry:         ${first}:${hashClientSecret(secret)}   (add to SERVICE_CLIENTS or a line of SERVICE_CLIENTS_FILE)`,
    );
    return;
  }

  const input = cmd === 'register' ? await metadata(first) : cmd === 'update' ? await metadata(second) : null;
  await withDatabase('use /admin/clients', async (database) => {
    const clients = new OAuthClients(database.prisma, systemClock);
    const meta = cliMeta('npm run clients');
    const cli = { kind: 'cli' } as const;
    switch (cmd) {
      case 'register': {
        const { client, secret } = await clients.register(input!, cli, meta);
        print(registrationOf(client, secret));
        if (secret) console.error('client_secret is shown once: store it in the app’s secret store now.');
        return;
      }
      case 'list':
        for (const c of await clients.list())
          console.log(`${c.id}\t${c.authMethod}\t${c.disabledAt ? 'disabled' : 'enabled'}\t${c.name}`);
        return;
      case 'show': {
        const client = await clients.get(first);
        if (!client) fail(`no OAuth client ${first}`, 4);
        print(registrationOf(client));
        return;
      }
      case 'update': {
        const { client, secret } = await clients.replace(first, input!, cli, meta);
        print(registrationOf(client, secret));
        return;
      }
      case 'disable':
      case 'enable':
        print(registrationOf(await clients.setDisabled(first, cmd === 'disable', cli, meta)));
        return;
      case 'delete':
        await clients.delete(first, cli, meta);
        console.log(`deleted ${first}`);
        return;
    }
  });
}

await runCli(main);
