// Which addresses webhooks refuse by default (SSRF): loopback, private, link-local, shared and reserved ranges
// in IPv4 and IPv6, IPv4 hidden in an IPv4-mapped IPv6 address, and anything that is no IP at all.
import t from 'tap';
import { isPrivateAddress } from '../../src/domain/webhooks/address-guard.js';

t.test('loopback, private, link-local and metadata addresses are refused', async (t) => {
  for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0'])
    t.ok(isPrivateAddress(a), `${a} is refused`);
  for (const a of ['::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip'])
    t.ok(isPrivateAddress(a), `${a} is refused`);
  // The URL parser writes [::ffff:127.0.0.1] as [::ffff:7f00:1]: every spelling of a mapped address is decoded.
  for (const a of ['::ffff:7f00:1', '::ffff:a9fe:a9fe', '0:0:0:0:0:ffff:a00:1', '::FFFF:C0A8:0101', '::ffff:0:0'])
    t.ok(isPrivateAddress(a), `${a} (an IPv4-mapped address in hex) is refused`);
});

t.test('public addresses are allowed', async (t) => {
  for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '::ffff:808:808'])
    t.notOk(isPrivateAddress(a), `${a} may receive webhooks`);
});

t.test('webhooks and client metadata documents refuse the same addresses', async (t) => {
  const { addressAllowed } = await import('../../src/domain/oauth/client-document-fetch.js');
  for (const a of [
    '192.88.99.1',
    '2002::1',
    '2001::1',
    'fec0::1',
    '64:ff9b:1::1',
    '::a00:1',
    '::ffff:169.254.169.254',
    '93.184.216.34',
    '::ffff:8.8.8.8',
  ])
    t.equal(isPrivateAddress(a), !addressAllowed(a), `${a}: one answer for both outbound fetches`);
});
