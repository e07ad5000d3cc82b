// Plugins named for Fastify before they are registered.
//
// Fastify names every registered plugin (its plugin tree, timeout and version errors) from the plugin's
// display-name symbol. Without one, it first searches every loaded CommonJS module for the function, and only
// then takes the function's name. Tessera's route plugins are ES modules, never in that cache, so the search
// always failed, twice per registration, over a cache of over a thousand modules: a twentieth of the CPU of
// building an app. Setting the symbol to the function's name gives Fastify the name it ended up with anyway.
// Plugins wrapped by fastify-plugin already carry a name and keep it.
const DISPLAY_NAME = Symbol.for('fastify.display-name');

/** The plugin itself, with Fastify's display name set to its function name unless it has one. */
export function named<P extends (...args: never[]) => unknown>(plugin: P): P {
  const carrier = plugin as unknown as Record<symbol, unknown>;
  if (carrier[DISPLAY_NAME] === undefined && plugin.name) carrier[DISPLAY_NAME] = plugin.name;
  return plugin;
}
