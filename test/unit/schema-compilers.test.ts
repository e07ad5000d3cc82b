// The shared route-schema compilers (src/http/schema-compilers.ts) take every schema Fastify can pass them:
// objects, found again by identity in the next app, and boolean schemas, which cannot be.
import t from 'tap';
import Fastify from 'fastify';
import { schemaController } from '../../src/http/schema-compilers.js';

const BODY = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } as const;
const REPLY = { type: 'object', properties: { name: { type: 'string' } } } as const;

async function appWith() {
  const app = Fastify({ schemaController });
  app.post('/object', { schema: { body: BODY, response: { 200: REPLY } } }, async (request) => ({
    ...(request.body as object),
    dropped: 'not in the reply schema',
  }));
  app.post('/boolean', { schema: { querystring: true, response: { 200: true } } }, async () => ({ any: 'thing' }));
  await app.ready();
  return app;
}

t.test('object and boolean schemas, in two apps of one process', async (t) => {
  for (const round of [1, 2]) {
    const app = await appWith();
    t.teardown(() => app.close());
    const ok = await app.inject({ method: 'POST', url: '/object', payload: { name: 'x' } });
    t.same(ok.json(), { name: 'x' }, `app ${round}: the reply schema drops what it does not name`);
    const bad = await app.inject({ method: 'POST', url: '/object', payload: {} });
    t.equal(bad.statusCode, 400, `app ${round}: the body schema refuses a missing field`);
    const any = await app.inject({ method: 'POST', url: '/boolean?x=1' });
    t.same(any.json(), { any: 'thing' }, `app ${round}: a boolean schema validates and serializes anything`);
  }
});
