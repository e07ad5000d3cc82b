// Route schemas compiled once per process instead of once per app.
//
// Fastify gives every app a new Ajv (validation) and fast-json-stringify (replies) compiler, and compiles every
// route's schemas into it at boot. One process usually builds one app, but the tests build hundreds, and there
// compiling the same schemas again was over a second of every test process. These factories are shared by every
// app of the process: @fastify/ajv-compiler keeps one Ajv per set of shared schemas and options, and within it
// a validator and a serializer are kept per schema, by its JSON text: many routes build their schemas inside
// the plugin (a new object for every app), and Ajv's own cache, by object, missed all of those (28 of 59 schemas
// of every app). A compiled function depends on nothing but the schema's JSON and its compiler's shared schemas
// and options, so an app gets exactly the functions it would have compiled itself. A schema object seen before
// (most are module constants: 94% of the ~570 look-ups of an app) is found by identity, without writing its
// JSON again; schemas are never changed once a route has them.
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

/** Stand-ins not compiled yet, by what they stand for ("POST /auth/login body"), for compileEverySchema. */
const uncompiled = new Map<() => unknown, string>();

/**
 * A function that compiles what it stands for on its first call. Fastify asks for every route's validator and
 * serializer when the route is added; most routes of a process are never called, and compiling them all (Ajv and
 * fast-json-stringify generate and compile code per schema) was the largest share of boot CPU after loading
 * modules. A route pays its compilation on its first request instead. Fastify reads a failed validation's errors
 * from the function it was given, so the stand-in carries the compiled validator's `errors` after each call.
 */
function onFirstCall<F extends (doc: unknown) => unknown>(label: string, compile: () => F): F {
  let compiled: F | undefined;
  const ensure = (): F => {
    if (!compiled) {
      compiled = compile();
      uncompiled.delete(ensure);
    }
    return compiled;
  };
  uncompiled.set(ensure, label);
  const call = ((doc: unknown) => {
    const fn = ensure();
    const result = fn(doc);
    (call as unknown as { errors?: unknown }).errors = (fn as unknown as { errors?: unknown }).errors;
    return result;
  }) as F;
  return call;
}

/**
 * Compiles every schema of the process's apps now, as Fastify would have at boot, and names those that fail.
 * Lazy compilation moves a broken schema's error from boot to the route's first request: the test suite calls
 * this after building an app with every feature on, so a schema that cannot compile still fails a test.
 */
export function compileEverySchema(): { what: string; error: string }[] {
  const failures: { what: string; error: string }[] = [];
  for (const [ensure, what] of [...uncompiled]) {
    try {
      ensure();
    } catch (err) {
      failures.push({ what, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return failures;
}

/** Whether a schema can be a WeakMap key: Fastify also passes boolean schemas (`body: false`) and null. */
const isObject = (schema: unknown): schema is object => typeof schema === 'object' && schema !== null;

function buildValidator(...args: Parameters<typeof buildValidatorFromPool>): ValidatorCompiler {
  const poolKey = JSON.stringify(args);
  const known = validatorCompilers.get(poolKey);
  if (known) return known;
  // The Ajv instance itself (meta-schemas, formats, the shared schemas) is built with the first validator.
  let compile: ValidatorCompiler | undefined;
  const compiled = new Map<string, Validator>();
  const byObject = new WeakMap<object, Validator>();
  const cached: ValidatorCompiler = (route) => {
    const byIdentity = isObject(route.schema);
    const known = byIdentity ? byObject.get(route.schema) : undefined;
    if (known) return known;
    const key = JSON.stringify(route.schema);
    let validator = compiled.get(key);
    if (!validator) {
      validator = onFirstCall(`${route.method} ${route.url} ${route.httpPart}`, () => {
        compile ??= buildValidatorFromPool(...args) as unknown as ValidatorCompiler;
        return compile(route);
      });
      compiled.set(key, validator);
    }
    if (byIdentity) byObject.set(route.schema, validator);
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
  const byObject = new WeakMap<object, Serializer>();
  const cached: SerializerCompiler = (route) => {
    const byIdentity = isObject(route.schema);
    const known = byIdentity ? byObject.get(route.schema) : undefined;
    if (known) return known;
    const key = JSON.stringify(route.schema);
    let serializer = compiled.get(key);
    if (!serializer) {
      serializer = onFirstCall(`${route.method} ${route.url} reply ${route.httpStatus}`, () => {
        compile ??= buildSerializerFactory(externalSchemas as never, serializerOpts as never) as SerializerCompiler;
        return compile(route);
      });
      compiled.set(key, serializer);
    }
    if (byIdentity) byObject.set(route.schema, serializer);
    return serializer;
  };
  serializerCompilers.set(key, cached);
  return cached;
}

export const schemaController: FastifyServerOptions['schemaController'] = {
  compilersFactory: { buildValidator: buildValidator as never, buildSerializer: buildSerializer as never },
};
