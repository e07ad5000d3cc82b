// IDENTITY_PROVIDERS_FILE and RETURN_TO_ORIGINS, checked at boot: errors name the entry and the field,
// never a secret.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { tempDir } from '../helper.js';

const SECRET = 'a-very-secret-client-secret';
const base = { id: 'corp', type: 'oidc', name: 'Corp SSO', issuer: 'https://sso.example.com', client_id: 'tessera' };

async function configWith(t: Test, providers: unknown, env: Record<string, string> = {}) {
  const file = path.join(await tempDir(t), 'providers.json');
  await writeFile(file, typeof providers === 'string' ? providers : JSON.stringify(providers));
  return () => loadConfig({ NODE_ENV: 'test', IDENTITY_PROVIDERS_FILE: file, ...env });
}

t.test('a valid file gives providers with presets filled in and secrets resolved from the environment', async (t) => {
  const load = await configWith(
    t,
    [
      { ...base, client_secret_env: 'CORP_SECRET', trusted_for_linking: true },
      { id: 'google', type: 'google', name: 'Google', client_id: 'g', client_secret: SECRET },
      {
        id: 'microsoft',
        type: 'microsoft',
        name: 'Microsoft',
        tenant: 'contoso.onmicrosoft.com',
        client_id: 'm',
        client_secret: SECRET,
      },
      { id: 'github', type: 'github', name: 'GitHub', client_id: 'gh', client_secret: SECRET },
    ],
    { CORP_SECRET: SECRET, CORS_ORIGINS: 'https://app.example.com' },
  );
  const config = load();
  t.match(
    config.identityProviders,
    [
      {
        id: 'corp',
        issuer: 'https://sso.example.com',
        clientSecret: SECRET,
        trustedForLinking: true,
        scopes: ['openid', 'email', 'profile'],
      },
      { id: 'google', issuer: 'https://accounts.google.com', trustedForLinking: false },
      { id: 'microsoft', issuer: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0' },
      {
        id: 'github',
        issuer: undefined,
        scopes: ['read:user', 'user:email'],
        github: { apiUrl: 'https://api.github.com' },
      },
    ],
    'each provider gets its preset issuer and scopes, and the secret read from its env var',
  );
  t.same(config.returnToOrigins, ['https://app.example.com'], 'RETURN_TO_ORIGINS defaults to CORS_ORIGINS');
  t.same(
    loadConfig({ NODE_ENV: 'test', CORS_ORIGINS: 'https://a.example', RETURN_TO_ORIGINS: 'https://b.example' })
      .returnToOrigins,
    ['https://b.example'],
    'an explicit RETURN_TO_ORIGINS wins over CORS_ORIGINS',
  );
  t.same(loadConfig({ NODE_ENV: 'test' }).identityProviders, [], 'no file, no providers');
});

t.test('each mistake stops the boot with a message naming the entry and field, and never the secret', async (t) => {
  const cases: [string, unknown, RegExp, Record<string, string>?][] = [
    ['not JSON', '{', /IDENTITY_PROVIDERS_FILE is not valid JSON/],
    ['not an array', { ...base }, /must hold a JSON array/],
    ['bad id', [{ ...base, id: 'Has Spaces', client_secret: SECRET }], /\[0\]\.id must be/],
    ['unknown type', [{ ...base, type: 'saml', client_secret: SECRET }], /\[0\]\.type must be one of/],
    ['no name', [{ ...base, name: '', client_secret: SECRET }], /\[0\]\.name must be a non-empty string/],
    ['no secret', [{ ...base }], /\[0\] needs exactly one of client_secret and client_secret_env/],
    ['both secrets', [{ ...base, client_secret: SECRET, client_secret_env: 'X' }], /needs exactly one of/],
    [
      'secret env unset',
      [{ ...base, client_secret_env: 'UNSET_SECRET_VAR' }],
      /\[0\]\.client_secret_env names UNSET_SECRET_VAR, which is not set/,
    ],
    [
      'http issuer elsewhere',
      [{ ...base, issuer: 'http://sso.example.com', client_secret: SECRET }],
      /\[0\]\.issuer must be an https URL/,
    ],
    [
      'http loopback in production',
      [{ ...base, issuer: 'http://127.0.0.1:9999', client_secret: SECRET }],
      /\[0\]\.issuer must be an https URL in production/,
      { NODE_ENV: 'production', ISSUER: 'https://auth.example.com' },
    ],
    [
      'multi-tenant microsoft',
      [{ ...base, type: 'microsoft', tenant: 'common', client_secret: SECRET }],
      /\[0\]\.tenant must be a tenant id/,
    ],
    [
      'scopes without openid',
      [{ ...base, scopes: ['email'], client_secret: SECRET }],
      /\[0\]\.scopes must include "openid"/,
    ],
    [
      'unknown field',
      [{ ...base, client_secret: SECRET, clientSecret: SECRET }],
      /\[0\]\.clientSecret is not a known field/,
    ],
    [
      'trusted not boolean',
      [{ ...base, client_secret: SECRET, trusted_for_linking: 'yes' }],
      /\[0\]\.trusted_for_linking must be true or false/,
    ],
    [
      'duplicate id',
      [
        { ...base, client_secret: SECRET },
        { ...base, client_secret: SECRET },
      ],
      /\[1\]\.id "corp" is used twice/,
    ],
    [
      'github url not https',
      [
        {
          id: 'gh',
          type: 'github',
          name: 'GH',
          client_id: 'x',
          client_secret: SECRET,
          github_urls: {
            authorize: 'http://gh.example/a',
            token: 'https://gh.example/t',
            api: 'https://gh.example/api',
          },
        },
      ],
      /\[0\]\.github_urls\.authorize must be https/,
    ],
  ];
  for (const [what, providers, message, env] of cases) {
    const load = await configWith(t, providers, env);
    let error: unknown;
    try {
      load();
    } catch (err) {
      error = err;
    }
    t.type(error, ConfigError, what);
    t.match((error as Error).message, message, what);
    t.notOk((error as Error).message.includes(SECRET), `${what}: the secret is not in the message`);
  }
  t.throws(
    () => loadConfig({ NODE_ENV: 'test', IDENTITY_PROVIDERS_FILE: '/nonexistent/providers.json' }),
    {
      name: 'ConfigError',
      message: /IDENTITY_PROVIDERS_FILE \/nonexistent\/providers.json cannot be read \(ENOENT\)/,
    },
    'an unreadable providers file stops the boot, naming the file and the reason',
  );
  t.throws(
    () => loadConfig({ NODE_ENV: 'test', RETURN_TO_ORIGINS: 'https://app.example.com/path' }),
    {
      name: 'ConfigError',
      message: /RETURN_TO_ORIGINS entry/,
    },
    'a RETURN_TO_ORIGINS entry with a path stops the boot',
  );
});
