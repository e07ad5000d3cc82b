// Route schemas compiled once per process instead of once per app.
//
// Fastify gives every app a new Ajv (validation) and fast-json-stringify (replies) compiler, and compiles every
// route's schemas into it at boot. One process usually builds one app, but the tests build hundreds, and there
// compiling the same schemas again was over a second of every test process. These factories are shared by every
// app of the process: @fastify/ajv-compiler keeps one Ajv per set of shared schemas and options, and within it
// a validator and a serializer are kept per schema, by its JSON text: many routes build their schemas inside
// the plugin (a new object for every app), and Ajv's own cache, by object, missed all of those (28 of 59 schemas
// of every app). A compiled function depends on nothing but the schema's JSON and its compiler's shared schemas
// and options, so an app gets exactly the functions it would have compiled itself.
//
// (Fastify treats a validator factory passed in as "custom", which only changes how it compiles a route's
// `headers` schema (not lowercased first): no Tessera route validates headers with a schema.)
import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

const buildValidatorFromPool = AjvCompiler();
const buildSerializerFactory = SerializerSelector();

type Validator = ReturnType<ReturnType<typeof buildValidatorFromPool>>;
type ValidatorCompiler = (route: { schema: object; method: string; url: string; httpPart: string }) => Validator;

/** One validator compiler per set of shared schemas and options; one validator per schema text within it. */
const validatorCompilers = new Map<string, ValidatorCompiler>();

/**
 * A function that compiles what it stands for on its first call. Fastify asks for every route's validator and
 * serializer when the route is added; most routes of a process are never called, and compiling them all (Ajv and
 * fast-json-stringify generate and compile code per schema) was the largest share of boot CPU after loading
 * modules. A route pays its compilation on its first request instead. Fastify reads a failed validation's errors
 * from the function it was given, so the stand-in carries the compiled validator's `errors` after each call.
 */
function onFirstCall<F extends (doc: unknown) => unknown>(compile: () => F): F {
  let compiled: F | undefined;
  const call = ((doc: unknown) => {
    compiled ??= compile();
    const result = compiled(doc);
    (call as unknown as { errors?: unknown }).errors = (compiled as unknown as { errors?: unknown }).errors;
    return result;
  }) as F;
  return call;
}

function buildValidator(...args: Parameters<typeof buildValidatorFromPool>): ValidatorCompiler {
  const poolKey = JSON.stringify(args);
  const known = validatorCompilers.get(poolKey);
  if (known) return known;
  // The Ajv instance itself (meta-schemas, formats, the shared schemas) is built with the first validator.
  let compile: ValidatorCompiler | undefined;
  const compiled = new Map<string, Validator>();
  const cached: ValidatorCompiler = (route) => {
    const key = JSON.stringify(route.schema);
    let validator = compiled.get(key);
    if (!validator) {
      validator = onFirstCall(() => {
        compile ??= buildValidatorFromPool(...args) as unknown as ValidatorCompiler;
        return compile(route);
      });
      compiled.set(key, validator);
    }
    return validator;
  };
  validatorCompilers.set(poolKey, cached);
  return cached;
}

type Serializer = (doc: unknown) => string;
type SerializerCompiler = (route: { schema: object; method: string; url: string; httpStatus: string }) => Serializer;

/** One compiler per set of shared schemas and options; one serializer per response schema text within it. */
const serializerCompilers = new Map<string, SerializerCompiler>();

function buildSerializer(externalSchemas: unknown, serializerOpts?: unknown): SerializerCompiler {
  const key = JSON.stringify(externalSchemas) + JSON.stringify(serializerOpts ?? {});
  const known = serializerCompilers.get(key);
  if (known) return known;
  let compile: SerializerCompiler | undefined;
  const compiled = new Map<string, Serializer>();
  const cached: SerializerCompiler = (route) => {
    const key = JSON.stringify(route.schema);
    let serializer = compiled.get(key);
    if (!serializer) {
      serializer = onFirstCall(() => {
        compile ??= buildSerializerFactory(externalSchemas as never, serializerOpts as never) as SerializerCompiler;
        return compile(route);
      });
      compiled.set(key, serializer);
    }
    return serializer;
  };
  serializerCompilers.set(key, cached);
  return cached;
}

export const schemaController: FastifyServerOptions['schemaController'] = {
  compilersFactory: { buildValidator: buildValidator as never, buildSerializer: buildSerializer as never },
};
