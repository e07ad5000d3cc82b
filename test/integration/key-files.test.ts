// Key files as the service reads them: what a bad file says, and that a key read twice (the same text under
// another name or folder, as every boot and every test app does) is still that file's key with its own schedule.
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { copyFile, writeFile } from 'node:fs/promises';
import { KeyError, readKeyFile, writeSchedule } from '../../src/domain/keys/key-files.js';
import { tempDir } from '../helper.js';

const ACTIVE = new URL('../fixtures/keys/active.pem', import.meta.url);

t.test('a file that is not a key is refused with its own name, each time it is read', async (t) => {
  const dir = await tempDir(t);
  const kids = Array.from({ length: 8 }, (_, i) => `broken-${i}`);
  for (const kid of kids) await writeFile(`${dir}/${kid}.pem`, '-----BEGIN PRIVATE KEY-----\nnot a key\n', 'utf8');
  // Read at the same instant, then again: every error names the file it came from.
  for (const round of [1, 2]) {
    const results = await Promise.allSettled(kids.map((kid) => readKeyFile(dir, kid)));
    results.forEach((r, i) => {
      t.equal(r.status, 'rejected', `round ${round}: ${kids[i]} is refused`);
      const err = (r as PromiseRejectedResult).reason as Error;
      t.ok(err instanceof KeyError, 'as a key error');
      t.equal(err.message, `key file ${kids[i]}.pem is not a PKCS#8 private key in PEM form`, 'naming its own file');
    });
  }
});

t.test('an RSA key under 2048 bits is refused, however often it is read', async (t) => {
  const dir = await tempDir(t);
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  await writeFile(`${dir}/small-a.pem`, small, 'utf8');
  await writeFile(`${dir}/small-b.pem`, small, 'utf8');
  for (const kid of ['small-a', 'small-b', 'small-a'])
    await t.rejects(readKeyFile(dir, kid), { message: `key file ${kid}.pem: RSA keys must be at least 2048 bits` });
});

t.test('the same key text in two folders is read as two keys, each with its own kid and schedule', async (t) => {
  const [one, two] = [await tempDir(t), await tempDir(t)];
  const made = new Date('2026-03-01T00:00:00.000Z');
  await writeSchedule(one, 'first', { createdAt: made, activatesAt: made, retiredAt: null });
  await copyFile(ACTIVE, `${one}/first.pem`);
  await writeSchedule(two, 'second', { createdAt: made, activatesAt: null, retiredAt: null });
  await copyFile(ACTIVE, `${two}/second.pem`);
  const [a, b] = await Promise.all([readKeyFile(one, 'first'), readKeyFile(two, 'second')]);
  t.same([a.kid, b.kid], ['first', 'second'], 'each key keeps its own kid');
  t.equal(a.schedule.activatesAt?.toISOString(), made.toISOString(), 'the first signs from its date');
  t.equal(b.schedule.activatesAt, null, 'the second waits as a next key');
  t.equal(a.alg, 'RS256');
  t.equal(b.alg, 'RS256');
});
