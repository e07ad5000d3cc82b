// .env.example is documentation that drifts unless something checks it: every variable of the config schema
// (src/config.ts) must be in it, with the schema's default, and the file as written must be a valid config.
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import t from 'tap';
import { EnvSchema, loadConfig } from '../../src/config.js';

const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
const active = parseEnv(text);
// Variables without a default appear commented out: `# NAME=example`.
const commented = new Set([...text.matchAll(/^# ([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
const schema = EnvSchema.properties as Record<string, { default?: unknown }>;

t.test('.env.example names every variable of the config schema and nothing else', async (t) => {
  const listed = new Set([...Object.keys(active), ...commented]);
  t.same([...listed].filter((name) => !(name in schema)).sort(), [], 'no variable the schema does not know');
  t.same(
    Object.keys(schema)
      .filter((name) => !listed.has(name))
      .sort(),
    [],
    'every schema variable is listed',
  );
});

t.test(
  '.env.example gives each variable the default the schema has, and leaves those without one commented out',
  async (t) => {
    for (const [name, property] of Object.entries(schema)) {
      if (property.default === undefined)
        t.ok(commented.has(name) && !(name in active), `${name} has no default, so it is commented out`);
      else t.equal(active[name], String(property.default), `${name} defaults to ${String(property.default)}`);
    }
  },
);

t.test('.env.example as written is a valid configuration', async (t) => {
  t.doesNotThrow(() => loadConfig(active, { serving: false }), 'loadConfig accepts every value in it');
});
