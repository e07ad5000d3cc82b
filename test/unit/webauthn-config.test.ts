// Unit tier: the passkey settings checked at boot (src/config-webauthn.ts, through loadConfig). A browser reports
// the page's origin in every ceremony; an origin outside the RP ID, or plain http on a real host, would let a
// page nobody meant to trust use the passkeys, so each is a boot error naming the entry.
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';

const load = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env });

t.test('passkeys are off until WEBAUTHN_RP_ID is set', async (t) => {
  t.equal(load({}).webauthn, undefined, 'no RP ID: no passkey settings (and no routes)');
  t.throws(() => load({ WEBAUTHN_ORIGINS: 'https://app.example.com' }), ConfigError, 'origins without an RP ID');
});

t.test('origins within the RP ID, https or localhost, and Android apps are accepted', async (t) => {
  const c = load({
    WEBAUTHN_RP_ID: 'Example.com',
    WEBAUTHN_ORIGINS:
      'https://example.com, https://app.example.com/,android:apk-key-hash:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde',
  });
  t.same(
    c.webauthn,
    {
      rpId: 'example.com',
      rpName: 'Tessera',
      origins: [
        'https://example.com',
        'https://app.example.com',
        'android:apk-key-hash:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde',
      ],
    },
    'the RP ID lower-cased, origins normalised, the Android origin kept as is',
  );
  t.same(
    load({ WEBAUTHN_RP_ID: 'localhost', ISSUER: 'http://localhost:3000' }).webauthn?.origins,
    ['http://localhost:3000'],
    'without WEBAUTHN_ORIGINS, the ISSUER origin; http is fine on localhost',
  );
});

t.test('an origin outside the RP ID, plain http elsewhere, or a malformed entry stops the boot', async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'another site',
      { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.org' },
      /not within WEBAUTHN_RP_ID/,
    ],
    [
      'a look-alike suffix',
      { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://evilexample.com' },
      /not within/,
    ],
    [
      'a parent of the RP ID',
      { WEBAUTHN_RP_ID: 'auth.example.com', WEBAUTHN_ORIGINS: 'https://example.com' },
      /not within/,
    ],
    ['http on a real host', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'http://app.example.com' }, /https/],
    ['a path', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com/app' }, /exact origin/],
    ['a bad Android origin', { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'android:apk-key-hash:!!' }, /android/],
    ['an IP as RP ID', { WEBAUTHN_RP_ID: '127.0.0.1', WEBAUTHN_ORIGINS: 'https://127.0.0.1' }, /domain name/],
    [
      'a URL as RP ID',
      { WEBAUTHN_RP_ID: 'https://example.com', WEBAUTHN_ORIGINS: 'https://example.com' },
      /domain name/,
    ],
  ];
  for (const [what, env, message] of cases)
    t.throws(() => load(env), { name: 'ConfigError', message }, `${what} is a boot error naming the problem`);
});
