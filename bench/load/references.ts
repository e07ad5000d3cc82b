// The yardsticks every figure is divided by, measured in the same run on the same machine, so that
// results read the same on a fast or a slow machine:
//   RS256: what any JWT issuer pays per token (node:crypto, one process, one signature at a time);
//   argon2id: what any password login pays, at the cost Tessera is configured with.
// (The third yardstick, a Fastify hello-world server, is a process: see hello-server.ts.)
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';

export interface SigningReference {
  /** Signatures per second, one after another in one thread. */
  perSecond: number;
  /** CPU per signature, ms. */
  cpuMs: number;
}

let rsaKey: KeyObject | undefined;

/** Signs a typical access token's header.payload with RS256 for about `seconds`. */
export function measureRs256(seconds: number): SigningReference {
  rsaKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${enc({ alg: 'RS256', typ: 'at+jwt', kid: 'bench' })}.${enc({
    iss: 'http://127.0.0.1:3000',
    sub: '00000000-0000-4000-8000-000000000001',
    aud: 'tessera',
    client_id: 'tessera',
    sid: '00000000-0000-4000-8000-000000000002',
    iat: now,
    exp: now + 900,
    auth_time: now,
    jti: 'x'.repeat(22),
  })}`;
  const data = Buffer.from(input);
  for (let i = 0; i < 20; i++) sign('sha256', data, rsaKey); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let n = 0;
  const until = t0 + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < until) {
    for (let i = 0; i < 10; i++) sign('sha256', data, rsaKey);
    n += 10;
  }
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: n / wallS, cpuMs: (cpu.user + cpu.system) / 1000 / n };
}

export interface Argon2Cost {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface HashReference {
  /** Hashes per second with as many in flight as the machine has cores: the most logins could reach. */
  perSecond: number;
  inFlight: number;
  /** CPU per hash, ms. */
  cpuMs: number;
}

/** argon2id hashes per second at `cost`, for about `seconds`. */
export async function measureArgon2(cost: Argon2Cost, seconds: number): Promise<HashReference> {
  const inFlight = availableParallelism();
  const options: argon2.HashOptions = { type: argon2.argon2id, ...cost };
  await argon2.hash('warm-up password', options);
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, i) => {
      while (Date.now() < until) {
        await argon2.hash(`bench password ${i}`, options);
        n++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: n / ((Date.now() - t0) / 1000), inFlight, cpuMs: (cpu.user + cpu.system) / 1000 / n };
}
