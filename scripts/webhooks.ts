// npm run webhooks -- add <url> <event_type,...> [description]   register an endpoint; prints its secret once
// npm run webhooks -- list                                        every endpoint: id, state, url, event types
// npm run webhooks -- enable|disable <id>                         start or stop deliveries to it
// npm run webhooks -- rotate <id> [overlap_seconds]               a new secret (printed once); the old one
//                                                                 signs too for the overlap (default 86400)
// npm run webhooks -- delete <id>                                 the endpoint, its secrets and deliveries
// npm run webhooks -- deliveries [endpoint_id]                    the latest deliveries and their outcome
// npm run webhooks -- resend <delivery_id>                        send one again (same webhook-id)
// Endpoints are changed on DATABASE_URL with the domain code /admin/webhooks calls, so every change writes the
// same audit row, with the actor "cli". Secrets are sealed with KEYS_DIR's secret box, as the service does.
import { loadConfig } from '../src/config.js';
import { systemClock } from '../src/domain/clock.js';
import { SecretBox } from '../src/domain/mfa/secret-box.js';
import { WebhookDeliveries } from '../src/domain/webhooks/deliveries.js';
import { WebhookEndpoints } from '../src/domain/webhooks/endpoints.js';
import { EVENT_TYPES } from '../src/domain/webhook-events.js';
import { cliMeta, fail, runCli, withDatabase } from './cli-database.js';

const USAGE = `usage: npm run webhooks -- add <url> <event_type,...> [description] | list | enable <id> | disable <id>
                           | rotate <id> [overlap_seconds] | delete <id> | deliveries [endpoint_id] | resend <delivery_id>
  event types: ${EVENT_TYPES.join(', ')}`;

const [cmd, ...args] = process.argv.slice(2);
const arity: Record<string, [number, number]> = {
  add: [2, 3],
  list: [0, 0],
  enable: [1, 1],
  disable: [1, 1],
  rotate: [1, 2],
  delete: [1, 1],
  deliveries: [0, 1],
  resend: [1, 1],
};

async function main(): Promise<void> {
  const range = cmd ? arity[cmd] : undefined;
  if (!range || args.length < range[0] || args.length > range[1]) fail(USAGE, 2);
  const [first, second, third] = args as [string, string | undefined, string | undefined];
  const needsId = ['enable', 'disable', 'rotate', 'delete'].includes(cmd!) || (cmd === 'deliveries' && first);
  if (needsId && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(first))
    fail('id: the endpoint id `list` shows', 2);
  const config = loadConfig(process.env, { serving: false });
  await withDatabase('use /admin/webhooks', async (database) => {
    const { box } = await SecretBox.open(config.keysDir);
    const endpoints = new WebhookEndpoints(database.prisma, box, config.webhooks, systemClock);
    const deliveries = new WebhookDeliveries(database.prisma, database.sql, systemClock);
    const meta = cliMeta('npm run webhooks');
    const cli = { kind: 'cli' } as const;
    switch (cmd) {
      case 'add': {
        const { endpoint, secret } = await endpoints.create(
          { url: first, eventTypes: second!.split(',').map((s) => s.trim()), description: third ?? null },
          cli,
          meta,
        );
        console.log(`id:     ${endpoint.id}`);
        console.log(`secret: ${secret}   (shown once; give it to the receiver)`);
        return;
      }
      case 'list':
        for (const e of await endpoints.list())
          console.log(`${e.id}\t${e.enabled ? 'enabled' : 'disabled'}\t${e.url}\t${e.eventTypes.join(',')}`);
        return;
      case 'enable':
      case 'disable': {
        const e = await endpoints.update(first, { enabled: cmd === 'enable' }, cli, meta);
        console.log(`${e.id}\t${e.enabled ? 'enabled' : 'disabled'}`);
        return;
      }
      case 'rotate': {
        const overlap = second === undefined ? 86400 : Number(second);
        if (!Number.isInteger(overlap) || overlap < 0) fail('overlap_seconds: a whole number of seconds, 0 or more', 2);
        const { endpoint, secret } = await endpoints.rotateSecret(first, overlap, cli, meta);
        console.log(`secret: ${secret}   (shown once)`);
        if (endpoint.previousSecretExpiresAt)
          console.log(`the previous secret signs too until ${endpoint.previousSecretExpiresAt.toISOString()}`);
        return;
      }
      case 'delete':
        await endpoints.delete(first, cli, meta);
        console.log(`deleted ${first}`);
        return;
      case 'deliveries':
        for (const d of await deliveries.list({ endpointId: first, limit: 50 }))
          console.log(
            `${d.id}\t${d.state}\t${d.eventType}\t${d.eventId}\tattempts=${d.attempts}\t${d.lastStatus ?? ''}\t${d.lastError ?? ''}`,
          );
        return;
      case 'resend': {
        if (!/^[1-9][0-9]{0,17}$/.test(first)) fail('delivery_id: the number `deliveries` lists', 2);
        const d = await deliveries.resend(first, cli, meta);
        console.log(`${d.id}\t${d.state}\tqueued`);
        return;
      }
    }
  });
}

await runCli(main);
