// ISSUER: the origin clients use. It defaults to http://localhost:<PORT> (an SPA on localhost keeps the
// SameSite=Strict cookie only from an API it calls by the same name), and production must set it.
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildTestApp } from '../helper.js';

t.test('ISSUER defaults to http://localhost:<PORT>, and follows PORT', async (t) => {
  t.equal(
    loadConfig({}).issuer,
    'http://localhost:3000',
    'with nothing set, the issuer is localhost on the default port',
  );
  t.equal(loadConfig({ PORT: '8080' }).issuer, 'http://localhost:8080', 'the default issuer follows PORT');
  t.equal(
    loadConfig({ PORT: '8080', ISSUER: 'https://auth.example.com/' }).issuer,
    'https://auth.example.com',
    'an explicit ISSUER wins',
  );

  const { app } = await buildTestApp(t, { env: { PORT: '4123' } });
  const discovery = (await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
  t.equal(discovery.issuer, 'http://localhost:4123', 'discovery announces the issuer the app was started with');
  t.equal(
    discovery.jwks_uri,
    'http://localhost:4123/.well-known/jwks.json',
    'discovery points to the JWKS under that issuer',
  );
});

t.test('NODE_ENV=production refuses to start without an explicit ISSUER', async (t) => {
  t.throws(
    () => loadConfig({ NODE_ENV: 'production' }),
    { name: 'ConfigError', message: /ISSUER/ },
    'production without ISSUER fails the config with a ConfigError naming ISSUER',
  );
  t.throws(() => loadConfig({ NODE_ENV: 'production', ISSUER: '' }), ConfigError, 'empty counts as unset');
  await t.rejects(
    buildTestApp(t, { env: { NODE_ENV: 'production' } }),
    { name: 'ConfigError', message: /ISSUER/ },
    'the app refuses to build in production without ISSUER',
  );
  t.equal(
    loadConfig({ NODE_ENV: 'production', ISSUER: 'https://auth.example.com' }).issuer,
    'https://auth.example.com',
    'production accepts an explicit ISSUER',
  );
  t.equal(loadConfig({ NODE_ENV: 'development' }).issuer, 'http://localhost:3000', 'development keeps the default');
});

t.test('the key commands, which serve nobody, need no ISSUER in production', async (t) => {
  const config = loadConfig({ NODE_ENV: 'production', KEYS_DIR: '/keys' }, { serving: false });
  t.equal(config.keysDir, '/keys', 'the key commands get the KEYS_DIR they were given');
  t.equal(config.env, 'production', 'the key commands still run as production');
});
