// Unit tier: redirect URI registration and matching (src/domain/oauth/redirect-uris.ts), every variant an
// attacker tries against an exact-match rule, and the RFC 8252 loopback port exception.
import t from 'tap';
import { redirectUriMatches, redirectUriProblem } from '../../src/domain/oauth/redirect-uris.js';

const WEB = 'https://app.example.com/callback';
const LOOPBACK_V4 = 'http://127.0.0.1/oauth/cb';
const LOOPBACK_V6 = 'http://[::1]/oauth/cb';
const NATIVE = 'com.example.app:/callback';
const LOCALHOST = 'http://localhost:8080/cb';
const registered = [WEB, LOOPBACK_V4, LOOPBACK_V6, NATIVE, LOCALHOST];

t.test('a registered URI matches itself, exactly', async (t) => {
  for (const uri of registered) t.ok(redirectUriMatches(registered, uri), `${uri} is accepted as registered`);
});

t.test('a loopback IP registration without a port matches any port, path and all', async (t) => {
  t.ok(redirectUriMatches(registered, 'http://127.0.0.1:49152/oauth/cb'), 'an ephemeral IPv4 loopback port works');
  t.ok(redirectUriMatches(registered, 'http://127.0.0.1:1/oauth/cb'), 'port 1 works');
  t.ok(redirectUriMatches(registered, 'http://127.0.0.1:65535/oauth/cb'), 'port 65535 works');
  t.ok(redirectUriMatches(registered, 'http://[::1]:50000/oauth/cb'), 'an ephemeral IPv6 loopback port works');
});

t.test('every near miss is refused', async (t) => {
  const attacks = [
    ['prefix', 'https://app.example.com/callback/extra'],
    ['prefix without slash', 'https://app.example.com/callbackx'],
    ['suffix domain', 'https://app.example.com.evil.com/callback'],
    ['shorter path', 'https://app.example.com/'],
    ['path traversal', 'https://app.example.com/callback/../evil'],
    ['encoded traversal', 'https://app.example.com/callback/%2e%2e/evil'],
    ['upper-case host', 'https://APP.example.com/callback'],
    ['upper-case path', 'https://app.example.com/Callback'],
    ['upper-case scheme', 'HTTPS://app.example.com/callback'],
    ['trailing slash', 'https://app.example.com/callback/'],
    ['userinfo before host', 'https://app.example.com@evil.com/callback'],
    ['userinfo on host', 'https://evil@app.example.com/callback'],
    ['fragment', 'https://app.example.com/callback#x'],
    ['extra query', 'https://app.example.com/callback?next=https://evil.com'],
    ['another port, non-loopback', 'https://app.example.com:8443/callback'],
    ['default port spelled out', 'https://app.example.com:443/callback'],
    ['http instead of https', 'http://app.example.com/callback'],
    ['127.0.0.2', 'http://127.0.0.2:5000/oauth/cb'],
    ['https loopback', 'https://127.0.0.1:5000/oauth/cb'],
    ['loopback, other path', 'http://127.0.0.1:5000/oauth/cb/x'],
    ['loopback, path prefix', 'http://127.0.0.1:5000/oauth'],
    ['loopback, fragment', 'http://127.0.0.1:5000/oauth/cb#x'],
    ['loopback, userinfo', 'http://127.0.0.1:5000@evil.com/oauth/cb'],
    ['loopback, port 0', 'http://127.0.0.1:0/oauth/cb'],
    ['loopback, port too large', 'http://127.0.0.1:65536/oauth/cb'],
    ['loopback, leading zero port', 'http://127.0.0.1:05000/oauth/cb'],
    ['localhost for a 127.0.0.1 registration', 'http://localhost:5000/oauth/cb'],
    ['localhost, another port', 'http://localhost:8081/cb'],
    ['localhost, no port', 'http://localhost/cb'],
    ['IPv4-mapped IPv6', 'http://[::ffff:127.0.0.1]:5000/oauth/cb'],
    ['decimal IP', 'http://2130706433:5000/oauth/cb'],
    ['private-use, other path', 'com.example.app:/callback2'],
    ['private-use, case', 'com.example.App:/callback'],
    ['private-use, double slash', 'com.example.app://callback'],
    ['empty', ''],
  ];
  for (const [name, uri] of attacks) t.notOk(redirectUriMatches(registered, uri!), `${name} (${uri}) is refused`);
});

t.test('a loopback registration with a port matches only that port', async (t) => {
  const fixed = ['http://127.0.0.1:8080/cb'];
  t.ok(redirectUriMatches(fixed, 'http://127.0.0.1:8080/cb'), 'the registered port works');
  t.notOk(redirectUriMatches(fixed, 'http://127.0.0.1:8081/cb'), 'another port is refused');
  t.notOk(redirectUriMatches(fixed, 'http://127.0.0.1/cb'), 'no port is refused');
});

t.test('registration accepts https, loopback http and reverse-DNS private-use schemes only', async (t) => {
  for (const ok of [WEB, LOOPBACK_V4, LOOPBACK_V6, NATIVE, LOCALHOST, 'https://app.example.com/cb?x=1'])
    t.equal(redirectUriProblem(ok), null, `${ok} may be registered`);
  const refused = [
    'http://app.example.com/cb',
    'https://app.example.com/cb#frag',
    'https://user@app.example.com/cb',
    'HTTPS://app.example.com/cb',
    'https://app.example.com:443/cb',
    'https://app.example.com/a/../cb',
    'myapp:/callback',
    'javascript:alert(1)',
    'data:text/html,x',
    '/relative',
    'https://app.example.com/cb with space',
    '',
  ];
  for (const bad of refused) t.type(redirectUriProblem(bad), 'string', `${JSON.stringify(bad)} is refused`);
});
