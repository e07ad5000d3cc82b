// Route schemas compiled once per process instead of once per app.
//
// Fastify gives every app a new Ajv (validation) and fast-json-stringify (replies) compiler, and compiles every
// route's schemas into it at boot. One process usually builds one app, but the tests build hundreds, and there
// compiling the same schemas again was over a second of every test process. These factories are shared by every
// app of the process: @fastify/ajv-compiler keeps one Ajv per set of shared schemas and options, which caches
// what it compiled by schema object, and the serializers are kept the same way. Route schemas are module
// constants, so an app gets exactly the functions it would have compiled itself.
//
// (Fastify treats a validator factory passed in as "custom", which only changes how it compiles a route's
// `headers` schema (not lowercased first): no Tessera route validates headers with a schema.)
import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

const buildValidator = AjvCompiler();
const buildSerializerFactory = SerializerSelector();

type Serializer = (doc: unknown) => string;
type SerializerCompiler = (route: { schema: object; method: string; url: string; httpStatus: string }) => Serializer;

/** One compiler per set of shared schemas and options; one serializer per response schema object within it. */
const serializerCompilers = new Map<string, SerializerCompiler>();

function buildSerializer(externalSchemas: unknown, serializerOpts?: unknown): SerializerCompiler {
  const key = JSON.stringify(externalSchemas) + JSON.stringify(serializerOpts ?? {});
  const known = serializerCompilers.get(key);
  if (known) return known;
  const compile = buildSerializerFactory(externalSchemas as never, serializerOpts as never) as SerializerCompiler;
  const compiled = new WeakMap<object, Serializer>();
  const cached: SerializerCompiler = (route) => {
    let serializer = compiled.get(route.schema);
    if (!serializer) {
      serializer = compile(route);
      compiled.set(route.schema, serializer);
    }
    return serializer;
  };
  serializerCompilers.set(key, cached);
  return cached;
}

export const schemaController: FastifyServerOptions['schemaController'] = {
  compilersFactory: { buildValidator, buildSerializer: buildSerializer as never },
};
