// Per-address limits count an IPv6 client by its /64, so rotating addresses inside one subscriber's
// network does not buy a fresh budget (src/domain/address-bucket.ts).
import t from 'tap';
import { addressBucket } from '../../src/domain/address-bucket.js';

t.test('an IPv4 address is its own bucket', async (t) => {
  t.equal(addressBucket('198.51.100.7'), '198.51.100.7', 'IPv4 limits stay per address');
  t.not(addressBucket('198.51.100.7'), addressBucket('198.51.100.8'), 'two IPv4 neighbours are counted apart');
});

t.test('IPv6 addresses are counted by their /64, however they are spelled', async (t) => {
  const bucket = '2001:db8:0:1::/64';
  for (const address of [
    '2001:db8:0:1::1',
    '2001:db8:0:1:ffff:ffff:ffff:ffff',
    '2001:0db8:0000:0001:0000:0000:0000:0001',
    '2001:DB8:0:1:abcd::42',
    '2001:db8:0:1:0:0:0:7',
    '2001:db8:0:1::9%eth0',
    '2001:db8:0:1:a:b:c:d',
  ]) {
    t.equal(addressBucket(address), bucket, `${address} is counted in ${bucket}`);
  }
  t.not(addressBucket('2001:db8:0:2::1'), bucket, 'the next /64 is another subscriber');
  // Node prints the shortest form: a /64 with zero groups in it is written with "::" before the host's groups.
  t.equal(addressBucket('2001:db8::1:2:3:4:5'), '2001:db8:0:1::/64', 'a :: inside the prefix, the host after it');
  t.equal(addressBucket('2001::5:a:b:c:d'), addressBucket('2001::5:a:b:c:e'), 'two hosts of 2001:0:0:5::/64 share it');
  t.equal(addressBucket('2001::5:a:b:c:d'), '2001:0:0:5::/64', 'and it is named in full');
  t.equal(addressBucket('::1'), '0:0:0:0::/64', 'loopback has a bucket like any address');
  t.equal(addressBucket('2001:db8::'), '2001:db8:0:0::/64', 'a trailing :: fills the rest with zeros');
  t.equal(addressBucket('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64', 'a NAT64 address with a dotted tail');
});

t.test('an IPv4-mapped IPv6 address is counted with its IPv4 address', async (t) => {
  t.equal(addressBucket('::ffff:198.51.100.7'), '198.51.100.7', 'a dual-stack socket does not split IPv4 clients');
  t.equal(addressBucket('::FFFF:198.51.100.7'), '198.51.100.7', 'in either case');
});

t.test('text that is not an address is left as it is', async (t) => {
  t.equal(addressBucket(''), '', 'no address: the empty key, as before');
  t.equal(addressBucket('unknown'), 'unknown', 'not an address: unchanged');
});
