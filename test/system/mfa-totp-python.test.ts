// An outside check of the TOTP codes: one computed by an independent implementation (Python's standard library:
// hmac, hashlib, struct, RFC 6238 written out) completes a sign-in, so Tessera's codes are RFC 6238's and not
// only those of the library it uses. A separate process, so this is the system tier.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { buildTestApp, ManualClock, PASSWORD, register } from '../helper.js';
import { firstStep, verify, withTotp } from '../mfa-fixture.js';

t.test("a code computed by Python's standard library (hmac, hashlib, struct) signs in", async (t) => {
  const clock = new ManualClock(new Date());
  const { app } = await buildTestApp(t, { clock });
  const { email } = await register(app);
  const f = await withTotp(app, clock, email);
  const python = `
import base64, hashlib, hmac, struct, sys
key = base64.b32decode(sys.argv[1])
counter = int(sys.argv[2]) // 30
digest = hmac.new(key, struct.pack('>Q', counter), hashlib.sha1).digest()
offset = digest[-1] & 0x0F
value = struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF
print('%06d' % (value % 1000000))
`;
  const seconds = String(Math.floor(clock.now().getTime() / 1000));
  const code = execFileSync('python3', ['-c', python, f.secret, seconds], { encoding: 'utf8' }).trim();
  t.match(code, /^\d{6}$/, 'Python computed a 6-digit code');
  const res = await verify(app, { mfa_token: await firstStep(app, email, PASSWORD), factor_id: f.factorId, code });
  t.equal(res.statusCode, 200, 'the independently computed code completes the sign-in');
});
