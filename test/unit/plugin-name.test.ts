// Plugins carry their name into Fastify (src/http/plugin-name.ts): an operator's plugin tree and Fastify's
// plugin errors name Tessera's plugins as their functions are named, and fastify-plugin's own names stay.
import t from 'tap';
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import { named } from '../../src/http/plugin-name.js';

t.test('a route plugin is named by its function, a fastify-plugin by its own name', async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  async function exampleRoutes() {}
  const wrapped = fp(async () => {}, { name: 'example-hooks' });
  t.equal(named(exampleRoutes), exampleRoutes, 'the plugin itself comes back');
  await app.register(named(exampleRoutes));
  await app.register(named(wrapped));
  await app.ready();
  const tree = app.printPlugins();
  t.match(tree, /exampleRoutes/, 'the route plugin by its function name');
  t.match(tree, /example-hooks/, 'the wrapped plugin by the name fastify-plugin gave it');
  t.equal((exampleRoutes as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')], 'exampleRoutes');
});
