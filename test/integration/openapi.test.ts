// The OpenAPI document: valid by a real validator (@readme/openapi-parser), complete (every route the app
// registers, seen by an onRoute hook from the first plugin on, with every response status it declares),
// and true (routes documented as needing credentials refuse requests without them). The docs page
// follows API_DOCS, validated at boot.
import t, { type Test } from 'tap';
import type { RouteOptions } from 'fastify';
import { validate, compileErrors } from '@readme/openapi-parser';
import { buildApp } from '../../src/app.js';
import { compileEverySchema } from '../../src/http/schema-compilers.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildTestApp, createTestDatabase, expectError, tempDir, testConfig } from '../helper.js';

interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }>;
    schemas: Record<string, { required?: string[] }>;
  };
};

/** Routes that document the API rather than being part of it, and routes declared hidden (the CORS preflight `OPTIONS *`). */
const isDocumentation = (r: RouteOptions) =>
  r.url === '/openapi.json' ||
  r.url === '/docs' ||
  r.url.startsWith('/docs/') ||
  (r.schema as { hide?: boolean } | undefined)?.hide === true;
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');
/** lower_snake_case: lower-case letters and digits, words joined by one underscore. */
const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

async function appWithRoutes(t: Test, env: Record<string, string> = {}) {
  const routes: RouteOptions[] = [];
  const db = await createTestDatabase();
  t.teardown(() => db.close());
  const config = testConfig({ KEYS_DIR: await tempDir(t, 'tessera-keys-'), ...env });
  const app = await buildApp({ config, database: db.database, onRoute: (route) => void routes.push(route) });
  t.teardown(() => app.close());
  return { app, routes };
}

t.test('the OpenAPI document', async (t) => {
  // Passkeys on (WEBAUTHN_RP_ID), so their routes are held to the same rules.
  const { app, routes } = await appWithRoutes(t, { WEBAUTHN_RP_ID: 'localhost' });
  const res = await app.inject({ url: '/openapi.json' });
  t.equal(res.statusCode, 200, 'the API document is served at /openapi.json');
  t.match(res.headers['content-type'], /^application\/json/, 'the API document is served as JSON');
  const doc = res.json() as Document;

  t.test('is valid OpenAPI 3.1 by @readme/openapi-parser', async (t) => {
    t.equal(doc.openapi, '3.1.0', 'the document declares OpenAPI 3.1.0');
    const result = await validate(structuredClone(doc) as never);
    t.ok(result.valid, result.valid ? 'valid' : compileErrors(result));
  });

  const api = routes.filter((r) => !isDocumentation(r));
  const methodsOf = (r: RouteOptions) =>
    [r.method]
      .flat()
      .filter((m) => m !== 'HEAD')
      .map((m) => m.toLowerCase());

  t.test('every route schema compiles (they compile on first use, so a broken one would pass boot)', async (t) => {
    const failures = compileEverySchema();
    t.same(failures, [], 'no request or reply schema of any route fails to compile');
  });

  t.test('names every route the app registered, and nothing else', async (t) => {
    t.ok(api.length >= 15, `${api.length} routes seen by onRoute`);
    const registered = new Set(api.flatMap((r) => methodsOf(r).map((m) => `${m} ${openapiPath(r.url)}`)));
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)),
    );
    for (const op of registered) t.ok(documented.has(op), `${op} is documented`);
    t.same(
      [...documented].filter((op) => !registered.has(op)),
      [],
      'no documented operation without a route',
    );
  });

  t.test('gives every response status each route declares; errors are ErrorBody', async (t) => {
    for (const route of api) {
      const declared = Object.keys((route.schema?.response ?? {}) as object).map((s) => s.toUpperCase());
      t.ok(declared.length > 0, `${route.url} declares its responses`);
      for (const method of methodsOf(route)) {
        const op = doc.paths[openapiPath(route.url)]![method]!;
        t.same(
          Object.keys(op.responses).sort(),
          [...declared].sort(),
          `${method} ${route.url}: ${declared.join(', ')}`,
        );
        for (const range of ['4XX', '5XX']) {
          t.same(
            op.responses[range]?.content?.['application/json']?.schema,
            { $ref: '#/components/schemas/ErrorBody' },
            `${method} ${route.url} ${range}`,
          );
        }
      }
    }
    t.same(
      doc.components.schemas.ErrorBody!.required,
      ['status_code', 'code', 'message', 'request_id'],
      'the error shape',
    );
  });

  t.test('names every JSON field, query and path parameter in snake_case, as OAuth and OIDC do', async (t) => {
    // Walks the whole document (request bodies, responses, parameters, shared components such as ErrorBody) and
    // the schemas of the routes it leaves out. No exception is allowed: every standard Tessera speaks (RFC 6749,
    // 7009, 7517, 7591, 7662, OpenID Connect) names its fields in snake_case too.
    const offenders: string[] = [];
    const walk = (schema: unknown, where: string): void => {
      if (!schema || typeof schema !== 'object') return;
      for (const [key, value] of Object.entries(schema)) {
        if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) {
          for (const [name, property] of Object.entries(value)) {
            if (!SNAKE_CASE.test(name)) offenders.push(`${where}: ${name}`);
            walk(property, `${where}.${name}`);
          }
        } else walk(value, where);
      }
    };
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        const {
          parameters = [],
          requestBody,
          responses,
        } = op as Operation & {
          parameters?: { name: string; in: string }[];
          requestBody?: unknown;
        };
        for (const p of parameters)
          if (p.in !== 'header' && !SNAKE_CASE.test(p.name)) offenders.push(`${method} ${path} ${p.in}: ${p.name}`);
        walk(requestBody, `${method} ${path} body`);
        walk(responses, `${method} ${path} response`);
      }
    walk(doc.components.schemas, 'components');
    for (const route of routes.filter(isDocumentation))
      walk(route.schema ?? {}, `${[route.method].flat().join(',')} ${route.url}`);
    t.ok(Object.keys(doc.paths).length >= 15, 'the walk saw the documented routes');
    t.same(offenders, [], 'no field, query or path parameter outside snake_case');
  });

  t.test('defines the bearer, refresh-cookie and client security schemes', async (t) => {
    t.match(
      doc.components.securitySchemes,
      {
        bearer: { type: 'http', scheme: 'bearer' },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: '__Host-tessera_refresh' },
        clientSecretBasic: { type: 'http', scheme: 'basic' },
      },
      'the bearer, refresh-cookie and Basic client schemes are defined as the routes use them',
    );
  });

  t.test('routes documented as secured refuse requests without credentials; the others ask for none', async (t) => {
    const seen = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const scheme = Object.keys(op.security?.[0] ?? {})[0];
        seen.add(scheme ?? 'none');
        const url = path
          .replace('{id}', '00000000-0000-4000-8000-000000000000')
          .replace('{session_id}', '00000000-0000-4000-8000-000000000001')
          .replace('{factor_id}', '00000000-0000-4000-8000-000000000002')
          .replace('{role}', 'support')
          .replace('{provider}', 'corp');
        // A body that passes validation, so the answer is the credential check's (it runs after validation).
        const payloads: Record<string, object> = {
          '/auth/password': { current_password: 'a', new_password: 'b' },
          '/auth/password/first': { new_password: 'a long enough passphrase' },
          '/auth/oauth/{provider}/link': { return_to: 'http://localhost:5173/' },
          '/auth/passkeys/registration/verify': {
            challenge_id: 'c'.repeat(32),
            response: {
              id: 'x',
              rawId: 'x',
              type: 'public-key',
              response: { clientDataJSON: 'x', attestationObject: 'x' },
              clientExtensionResults: {},
            },
          },
          '/auth/passkeys/{id}': { label: 'x' },
          '/auth/api-keys': { name: 'ci', scopes: [] },
          '/auth/mfa/totp/{factor_id}/confirm': { code: '123456' },
          '/auth/step-up': { recovery_code: 'x' },
        };
        const payload = payloads[path] ?? (path.startsWith('/oauth/') ? { token: 'x' } : {});
        const reply = await app.inject({
          method: method.toUpperCase() as 'GET',
          url,
          ...(method === 'get' || method === 'delete' ? {} : { payload }),
        });
        const expected = {
          bearer: 'missing_token',
          clientSecretBasic: 'invalid_client',
          refreshCookie: path === '/auth/refresh' ? 'refresh_token_missing' : undefined,
        }[scheme ?? ''];
        if (scheme === undefined) t.not(reply.statusCode, 401, `${method} ${path}: no credentials asked`);
        else if (expected)
          t.equal(reply.json().code, expected, `${method} ${path} (${scheme}) without credentials: ${expected}`);
      }
    }
    t.same([...seen].sort(), ['bearer', 'clientSecretBasic', 'none', 'refreshCookie'], 'every scheme is used');
  });

  t.test('groups every operation under one of the named tags, in the order the docs list them', async (t) => {
    const full = doc as Document & { tags: { name: string }[]; info: { title: string } };
    t.equal(full.info.title, 'Tessera API', 'the document names the product');
    const names = full.tags.map((tag) => tag.name);
    t.same(
      names,
      ['accounts', 'sessions', 'email', 'providers', 'OAuth', 'admin', 'keys and health'],
      'the groups a reader looks for, in that order',
    );
    const ops = Object.entries(full.paths).flatMap(([p, methods]) =>
      Object.entries(methods).map(([m, op]) => ({
        at: `${m.toUpperCase()} ${p}`,
        tags: (op as { tags?: string[] }).tags,
      })),
    );
    for (const op of ops) t.ok(op.tags?.length === 1 && names.includes(op.tags[0]!), `${op.at} is in one named group`);
    const tagAt = (at: string) => ops.find((o) => o.at === at)?.tags?.[0];
    t.same(
      {
        login: tagAt('POST /auth/login'),
        refresh: tagAt('POST /auth/refresh'),
        start: tagAt('GET /auth/oauth/{provider}/start'),
        token: tagAt('POST /oauth/token'),
        users: tagAt('GET /admin/users'),
        jwks: tagAt('GET /.well-known/jwks.json'),
      },
      {
        login: 'accounts',
        refresh: 'sessions',
        start: 'providers',
        token: 'OAuth',
        users: 'admin',
        jwks: 'keys and health',
      },
      'each route is where its reader looks for it',
    );
  });

  t.test('says what every response means: no route is left with the generator\'s "Default Response"', async (t) => {
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops))
        for (const [status, response] of Object.entries(op.responses)) {
          const description = (response as { description?: string }).description ?? '';
          t.ok(
            description !== '' && description !== 'Default Response',
            `${method.toUpperCase()} ${path} ${status} tells the reader what the answer means`,
          );
        }
    const login = doc.paths['/auth/login']!.post!.responses as Record<string, { description: string }>;
    t.match(login['4XX']!.description, /docs\/errors\.md/, 'an error response points to the catalog of codes');
    t.match(login['5XX']!.description, /service_unavailable.*Retry-After/, 'a 5xx says when to retry');
  });

  t.test('every example body it shows is accepted by its route, as a reader would send it', async (t) => {
    let examples = 0;
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        const body = (op as { requestBody?: { content: Record<string, { example?: unknown }> } }).requestBody;
        const example = body?.content['application/json']?.example;
        if (example === undefined) continue;
        examples++;
        const res = await app.inject({ method: method.toUpperCase() as 'POST', url: path, payload: example as object });
        t.notOk(
          res.statusCode === 400 && ['invalid_request', 'malformed_json'].includes(res.json().code),
          `${method.toUpperCase()} ${path}: the example passes the schema (${res.statusCode} ${res.body.slice(0, 120)})`,
        );
        if (path === '/auth/register') t.equal(res.statusCode, 201, 'the registration example registers');
        if (path === '/auth/login') t.equal(res.statusCode, 200, 'and the login example then logs in');
      }
    t.ok(examples >= 10, `the routes a newcomer tries first show an example (${examples})`);
  });

  t.test('names every client authentication method discovery announces, private_key_jwt included', async (t) => {
    const discovery = (await app.inject({ url: '/.well-known/openid-configuration' })).json() as {
      token_endpoint_auth_methods_supported: string[];
    };
    const schemes = JSON.stringify(doc.components.securitySchemes);
    const methods = discovery.token_endpoint_auth_methods_supported.filter((m) => m !== 'none');
    t.ok(methods.includes('private_key_jwt'), 'discovery announces private_key_jwt');
    for (const method of methods) t.match(schemes, method, `the security schemes say how to use ${method}`);
  });

  t.test('50 clients fetching it at the same instant get the same document', async (t) => {
    const replies = await Promise.all(Array.from({ length: 50 }, () => app.inject({ url: '/openapi.json' })));
    t.same(
      [...new Set(replies.map((r) => r.statusCode))],
      [200],
      'all 50 simultaneous fetches of the document are answered',
    );
    t.equal(new Set(replies.map((r) => r.body)).size, 1, 'all 50 simultaneous fetches get the same document');
  });
});

t.test('the docs page', async (t) => {
  t.test('is served outside production, with a policy of its own instead of the API one', async (t) => {
    const { app } = await buildTestApp(t);
    const page = await app.inject({ url: '/docs' });
    t.equal(page.statusCode, 200, 'the docs page is served outside production');
    t.match(page.headers['content-type'], /^text\/html/, 'the docs page is HTML');
    t.match(
      page.headers['content-security-policy'],
      /default-src 'self'/,
      'the docs page has its own policy allowing its own scripts and styles',
    );
    t.notMatch(
      page.headers['content-security-policy'],
      /upgrade-insecure-requests/,
      'plain http stays usable on localhost',
    );
    t.match(
      (await app.inject({ url: '/health/live' })).headers['content-security-policy'],
      /^default-src 'none'/,
      'the API keeps its own',
    );
    t.match(page.body, '<title>Tessera API</title>', 'the page is titled with the product name');
    const init = (await app.inject({ url: '/docs/static/swagger-initializer.js' })).body;
    t.match(init, 'data:image/svg+xml;base64,', "the top bar shows Tessera's mark instead of the UI's logo");
  });

  t.test('is off with API_DOCS=false, and so is the API document', async (t) => {
    const { app } = await buildTestApp(t, { env: { API_DOCS: 'false' } });
    t.equal((await app.inject({ url: '/docs' })).statusCode, 404, 'with API_DOCS=false there is no docs page');
    t.equal(
      (await app.inject({ url: '/docs/static/index.html' })).json().code,
      'not_found',
      'with API_DOCS=false the docs assets are not served either',
    );
    expectError(
      t,
      await app.inject({ url: '/openapi.json' }),
      'not_found',
      'with API_DOCS=false the API document (which lists every /admin route) is not served either',
    );
    expectError(t, await app.inject({ url: '/docs/json' }), 'not_found', 'nor its copy under /docs');
  });

  t.test('in production by default neither the page nor the document is served', async (t) => {
    const { app } = await buildTestApp(t, { env: { NODE_ENV: 'production', ISSUER: 'https://auth.example.com' } });
    expectError(t, await app.inject({ url: '/docs' }), 'not_found', 'production serves no docs page by default');
    expectError(
      t,
      await app.inject({ url: '/openapi.json' }),
      'not_found',
      'production serves no API document by default: it follows the docs page',
    );
  });

  t.test('is off by default in production, on with API_DOCS=true', async (t) => {
    const production = { NODE_ENV: 'production', ISSUER: 'https://auth.example.com' };
    t.equal(loadConfig(production).apiDocs, false, 'production leaves the docs page off by default');
    t.equal(
      loadConfig({ ...production, API_DOCS: 'true' }).apiDocs,
      true,
      'API_DOCS=true turns the docs page on in production',
    );
    t.equal(loadConfig({ NODE_ENV: 'development' }).apiDocs, true, 'development serves the docs page by default');
  });

  t.test('API_DOCS other than true or false is a boot error naming it', async (t) => {
    t.throws(() => loadConfig({ API_DOCS: 'yes' }), ConfigError, 'API_DOCS=yes fails the boot with a ConfigError');
    t.throws(() => loadConfig({ API_DOCS: 'yes' }), /API_DOCS/, 'the boot error names API_DOCS');
  });
});
