// compose.yaml can't run here (no Docker engine), so it is checked for what can be checked without one: it
// parses as YAML, it is the topology the multi-instance tests run (two instances, one PostgreSQL, one Redis,
// a proxy over both), and the instances' environment passes Tessera's own boot validation.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: unknown;
  ports?: string[];
}

/** ${VAR:-default} and ${VAR:?message} as compose substitutes them, with these variables set. */
const substitute = (value: string, vars: Record<string, string>) =>
  value.replace(/\$\{(\w+)(?::[-?]([^}]*))?\}/g, (_, name: string, fallback?: string) => vars[name] ?? fallback ?? '');

t.test('compose.yaml parses and runs two instances on one PostgreSQL and one Redis behind one proxy', async (t) => {
  const doc = parse(await readFile(path.join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };
  const { services } = doc;
  t.same(
    Object.keys(services).sort(),
    ['keys', 'postgres', 'proxy', 'redis', 'tessera-1', 'tessera-2'],
    'compose runs the key generator, PostgreSQL, Redis, the proxy and two instances, nothing else',
  );
  t.match(services.postgres!.image, /^postgres:/, 'the database is a stock PostgreSQL image');
  t.match(services.redis!.image, /^redis:/, 'the shared store is a stock Redis image');

  const instances = [services['tessera-1']!, services['tessera-2']!];
  t.same(instances[0], instances[1], 'the two instances are configured alike');
  for (const s of instances) {
    t.equal(s.build, '.', 'built from the Dockerfile');
    t.same(s.volumes, ['keys:/keys'], 'one shared key volume');
    t.match(
      s.environment?.DATABASE_URL,
      /@postgres:5432\//,
      `tessera-${instances.indexOf(s) + 1}: the database is the compose PostgreSQL`,
    );
    t.equal(
      s.environment?.REDIS_URL,
      'redis://redis:6379',
      `tessera-${instances.indexOf(s) + 1}: the shared store is the compose Redis`,
    );
  }
  t.match(
    services.keys!.command?.join(' '),
    /dist\/scripts\/keys\.js generate/,
    'the first keys come from the compiled key command',
  );
  const proxy = services.proxy!.command!.join(' ');
  t.match(proxy, /--to tessera-1:3000/, 'the proxy forwards to tessera-1');
  t.match(proxy, /--to tessera-2:3000/, 'the proxy forwards to tessera-2');
  t.ok('pgdata' in doc.volumes && 'keys' in doc.volumes, 'the database and the keys live in named volumes');

  // The image's environment (Dockerfile ENV) plus the instance's: what Tessera validates at boot.
  const image = { NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '3000' };
  const env = Object.fromEntries(
    Object.entries(instances[0]!.environment!).map(([k, v]) => [
      k,
      substitute(String(v), { POSTGRES_PASSWORD: 'secret' }),
    ]),
  );
  const config = loadConfig({ ...image, ...env });
  t.equal(config.issuer, 'http://localhost:8080', 'the public origin is the proxy');
  t.equal(config.trustProxy, 1, 'one proxy hop is believed');
  t.equal(config.redisUrl, 'redis://redis:6379', 'the instance boots with the compose Redis');
  t.match(
    config.databaseUrl,
    /^postgres:\/\/tessera:secret@postgres:5432\/tessera$/,
    'the instance boots with the compose PostgreSQL and its password substituted',
  );
});
