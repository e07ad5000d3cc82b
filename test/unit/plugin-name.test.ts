// Plugins carry their name into Fastify (src/http/plugin-name.ts): the display name Fastify reads is the
// plugin function's name, a name fastify-plugin gave stays, and Fastify's plugin name chain shows it.
import t from 'tap';
import Fastify, { type FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { named } from '../../src/http/plugin-name.js';

const DISPLAY_NAME = Symbol.for('fastify.display-name');
const displayName = (plugin: object) => (plugin as Record<symbol, unknown>)[DISPLAY_NAME];

t.test('a route plugin is named by its function, a fastify-plugin keeps its own name', async (t) => {
  let chain = '';
  const exampleRoutes: FastifyPluginAsync = async function exampleRoutes(instance) {
    chain = instance.pluginName;
  };
  const wrapped = fp(async () => {}, { name: 'example-hooks' });
  t.equal(named(exampleRoutes), exampleRoutes, 'the plugin itself comes back');
  t.equal(displayName(exampleRoutes), 'exampleRoutes', 'named by its function');
  t.equal(displayName(named(wrapped)), 'example-hooks', "fastify-plugin's name stays");
  const anonymous = named((async () => {}) as FastifyPluginAsync);
  t.equal(displayName(anonymous), undefined, 'a function without a name is left for Fastify to name');
  const app = Fastify();
  t.teardown(() => app.close());
  await app.register(exampleRoutes);
  await app.ready();
  t.match(chain, /exampleRoutes/, "Fastify's plugin name chain carries it");
});
