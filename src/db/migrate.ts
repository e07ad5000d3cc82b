// Prisma migrations without Prisma's native schema engine (which can't be downloaded on every
// machine): @prisma/schema-engine-wasm driven through a driver adapter. `applyMigrations` writes
// `_prisma_migrations` exactly as `prisma migrate deploy` does, so the native CLI sees the same history.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { PGlite } from '@electric-sql/pglite';

const require = createRequire(import.meta.url);
const projectRoot = fileURLToPath(new URL('../../', import.meta.url)).replace(/dist[\\/]$/, '');
const schemaFile = path.join(projectRoot, 'prisma', 'schema.prisma');
export const migrationsDir = path.join(projectRoot, 'prisma', 'migrations');
const noFilter = { externalTables: [], externalEnums: [] };

// The wasm engine ships loose typings: `any` is allowed in this file only (biome.json, overrides).
type Engine = any;
let engineClass: Promise<any> | undefined;

/** Instantiates the wasm engine once per process (wasm-bindgen keeps global state). */
function loadEngineClass(): Promise<any> {
  engineClass ??= (async () => {
    // The package's main entry imports a .wasm file, which needs an experimental Node flag:
    // instantiate the module by hand with the JS glue as its imports.
    const bgJs = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const runtime: Record<string, any> = await import(pathToFileURL(bgJs).href);
    const bytes = await fs.readFile(bgJs.replace(/\.js$/, '.wasm'));
    const imports: Record<string, any> = { ...runtime };
    for (const name of Object.keys(imports)) {
      // The engine arms a ~10 s timer it never clears; unref it so the process can exit.
      if (name.startsWith('__wbg_setTimeout_')) {
        imports[name] = (fn: () => void, ms: number) => setTimeout(fn, ms >>> 0).unref();
      }
    }
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { './schema_engine_bg.js': imports });
    runtime.__wbg_set_wasm(instance.exports);
    (instance.exports as any).__wbindgen_start();
    return runtime.SchemaEngine;
  })();
  return engineClass;
}

/** @prisma/adapter-pg can't read PostgreSQL's one-byte "char" (OID 18) that catalog queries return: report it as text. */
function patchPgAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const a = adapter as any;
  const performIO = a.performIO.bind(a);
  a.performIO = async (q: unknown) => {
    const res = await performIO(q);
    for (const f of res?.fields ?? []) if (f.dataTypeID === 18) f.dataTypeID = 25;
    return res;
  };
  const startTransaction = a.startTransaction.bind(a);
  a.startTransaction = async (...args: unknown[]) => patchPgAdapter(await startTransaction(...args));
  return adapter;
}

/** pglite-prisma-adapter 0.7.2's executeScript does not await exec: a failed migration would be recorded as applied. */
function patchPgliteAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const a = adapter as any;
  a.executeScript = async (script: string) => {
    try {
      await a.client.exec(script);
    } catch (e) {
      a.onError(e);
    }
  };
  return adapter;
}

interface OpenedFactory {
  factory: SqlMigrationAwareDriverAdapterFactory;
  close: () => Promise<void>;
}

function wrapFactory(
  factory: SqlMigrationAwareDriverAdapterFactory,
  patch: (a: SqlDriverAdapter) => SqlDriverAdapter,
  opened: SqlDriverAdapter[],
): SqlMigrationAwareDriverAdapterFactory {
  const connect = factory.connect.bind(factory);
  const shadow = factory.connectToShadowDb.bind(factory);
  factory.connect = async () => {
    const a = patch(await connect());
    opened.push(a);
    return a;
  };
  factory.connectToShadowDb = async () => patch(await shadow());
  return factory;
}

/** A migration-capable factory over a PGlite instance the caller owns and closes. */
export async function pgliteMigrationFactory(pglite: PGlite): Promise<OpenedFactory> {
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  const factory = new PrismaPGlite(pglite);
  const shadow = factory.connectToShadowDb.bind(factory);
  factory.connectToShadowDb = async () => {
    const a = await shadow(); // a fresh in-memory PGlite: close it with the adapter, or Node exits with code 99
    const dispose = a.dispose.bind(a);
    a.dispose = async () => {
      await dispose();
      await (a as any).client.close();
    };
    return a;
  };
  const opened: SqlDriverAdapter[] = [];
  return {
    factory: wrapFactory(factory, patchPgliteAdapter, opened),
    close: async () => {
      opened.length = 0;
    },
  };
}

/** A migration-capable factory for a postgres:// URL; the engine never closes its connection, so close() does. */
export async function postgresMigrationFactory(url: string): Promise<OpenedFactory> {
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const { parse } = createRequire(require.resolve('pg'))('pg-connection-string');
  // Discrete fields, not a connectionString: adapter-pg's shadow pool spreads the config and a
  // connectionString would win over the shadow database's name.
  const config = parse(url);
  const factory = new PrismaPg(config);
  factory.connectToShadowDb = async () => {
    const admin = await new PrismaPg(config).connect();
    const name = `prisma_migrate_shadow_db_${crypto.randomUUID()}`;
    await admin.executeScript(`CREATE DATABASE "${name}"`);
    const shadowDb = await new PrismaPg({ ...config, database: name }).connect();
    const dispose = shadowDb.dispose.bind(shadowDb);
    shadowDb.dispose = async () => {
      await dispose(); // close the pool before dropping its database
      await admin.executeScript(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.dispose();
    };
    return shadowDb;
  };
  const opened: SqlDriverAdapter[] = [];
  const close = async () => {
    for (const a of opened.splice(0)) await a.dispose();
  };
  return { factory: wrapFactory(factory, patchPgAdapter, opened), close };
}

async function listMigrations(dir = migrationsDir) {
  const lockContent = await fs.readFile(path.join(dir, 'migration_lock.toml'), 'utf8').catch(() => null);
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const migrationDirectories = [];
  for (const e of entries.filter((d) => d.isDirectory())) {
    const content = await fs.readFile(path.join(dir, e.name, 'migration.sql'), 'utf8').then(
      (value) => ({ tag: 'ok', value }),
      (err: Error) => ({ tag: 'error', value: err.message }),
    );
    migrationDirectories.push({ path: e.name, migrationFile: { path: 'migration.sql', content } });
  }
  migrationDirectories.sort((a, b) => a.path.localeCompare(b.path));
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    migrationDirectories,
    shadowDbInitScript: '',
  };
}

async function withEngine<T>(
  opened: OpenedFactory,
  fn: (engine: Engine, files: { path: string; content: string }[]) => Promise<T>,
): Promise<T> {
  const SchemaEngine = await loadEngineClass();
  const schema = await fs.readFile(schemaFile, 'utf8');
  const debug = process.env.DEBUG_SCHEMA_ENGINE ? (l: string) => console.error(l) : () => {};
  const engine = await SchemaEngine.new(
    { datamodels: [[schemaFile, schema]] },
    debug,
    bindMigrationAwareSqlAdapterFactory(opened.factory),
  );
  try {
    return await fn(engine, [{ path: schemaFile, content: schema }]);
  } finally {
    engine.free();
    await opened.close();
  }
}

/** Same effect as `prisma migrate deploy`; returns the names of the migrations it applied. */
export async function applyMigrations(opened: OpenedFactory): Promise<string[]> {
  return withEngine(opened, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList: await listMigrations(), filters: noFilter });
    return out.appliedMigrationNames as string[];
  });
}

/** As `prisma migrate dev --create-only`: diff the schema against the migrations, write a new folder. */
export async function createMigration(opened: OpenedFactory, name: string): Promise<string | null> {
  return withEngine(opened, async (engine, files) => {
    const migrationsList = await listMigrations();
    await engine.applyMigrations({ migrationsList, filters: noFilter });
    // createMigration on its own fails ("shadow DB must be provided"): devDiagnostic first, as migrate dev does.
    const { action } = await engine.devDiagnostic({ migrationsList, filters: noFilter });
    if (action.tag !== 'createMigration')
      throw new Error(`migration history needs attention: ${JSON.stringify(action)}`);
    const out = await engine.createMigration({
      draft: false,
      migrationName: name,
      migrationsList,
      schema: { files },
      filters: noFilter,
    });
    if (out.migrationScript === null) return null;
    const dir = path.join(migrationsDir, out.generatedMigrationName);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, `migration.${out.extension}`), out.migrationScript);
    await fs.writeFile(
      path.join(migrationsDir, 'migration_lock.toml'),
      `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${out.connectorType}"\n`,
    );
    return dir;
  });
}
