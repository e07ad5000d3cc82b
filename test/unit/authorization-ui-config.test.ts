// LOGIN_UI_URL / CONSENT_UI_URL are checked at boot (src/config-authorization.ts): https, or http on a loopback
// host outside production, and nothing a browser must not be sent to with a challenge (credentials, a fragment).
import t from 'tap';
import { authorizationConfig } from '../../src/config-authorization.js';

const BASE = {
  PAGES_LOGO_URL: '',
  PAGES_PRIMARY_COLOR: '1e40af',
  PAGES_BACKGROUND_COLOR: 'f4f4f5',
  PAGES_TEMPLATES_DIR: '',
  MAIL_PRODUCT_NAME: 'Tessera',
  LOGIN_UI_URL: '',
  CONSENT_UI_URL: '',
};
const fail = (message: string): never => {
  throw new Error(message);
};
const load = (env: Partial<typeof BASE>, nodeEnv = 'development') =>
  authorizationConfig({ ...BASE, ...env, NODE_ENV: nodeEnv }, fail);

t.test('an https login and consent page is taken as given; unset keeps the built-in pages', async (t) => {
  const config = load({
    LOGIN_UI_URL: 'https://login.example.com/login',
    CONSENT_UI_URL: 'https://login.example.com/c?x=1',
  });
  t.equal(config.loginUiUrl, 'https://login.example.com/login', 'the login page is the configured one');
  t.equal(config.consentUiUrl, 'https://login.example.com/c?x=1', 'the consent page may carry its own query');
  t.equal(load({}).loginUiUrl, undefined, 'an empty setting means the built-in page');
});

t.test('http is refused except on a loopback host outside production', async (t) => {
  t.equal(
    load({ LOGIN_UI_URL: 'http://127.0.0.1:4000/login' }).loginUiUrl,
    'http://127.0.0.1:4000/login',
    'loopback http in development',
  );
  t.throws(() => load({ LOGIN_UI_URL: 'http://login.example.com/login' }), /LOGIN_UI_URL/, 'http to another host');
  t.throws(
    () => load({ CONSENT_UI_URL: 'http://127.0.0.1:4000/c' }, 'production'),
    /CONSENT_UI_URL/,
    'loopback http in production',
  );
  t.throws(() => load({ LOGIN_UI_URL: '/login' }), /absolute URL/, 'a relative URL');
  t.throws(() => load({ LOGIN_UI_URL: 'https://u:p@login.example.com/' }), /credentials/, 'credentials in the URL');
  t.throws(() => load({ LOGIN_UI_URL: 'https://login.example.com/#x' }), /fragment/, 'a fragment');
});
