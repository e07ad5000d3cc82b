// Changing the key set: what `npm run keys -- rotate | retire | prune` and the running service do.
//
// The rule that makes rotation safe for verifiers: a key is published for at least `leadSeconds`
// (JWKS_MAX_AGE_SECONDS + KEYS_RELOAD_SECONDS) before it may sign. A verifier's cached JWKS is never
// older than JWKS_MAX_AGE_SECONDS, and every instance re-reads KEYS_DIR within KEYS_RELOAD_SECONDS, so by
// the time a key signs, every cache already holds it and every instance knows its activation time.
// There is always a next key waiting, published, so a rotation never has to wait for caches.
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  generateKeyFile,
  listKids,
  readKeyFile,
  removeKeyFiles,
  writeSchedule,
  KeyError,
  GENERATE_KEYS_HINT,
  type KeyFile,
  type SigningAlg,
} from './key-files.js';
import { keyStates } from './keys.js';

export interface RotationPolicy {
  /** Minimum seconds between publishing a key and letting it sign. */
  leadSeconds: number;
  /** Every instance re-reads KEYS_DIR this often. */
  reloadSeconds: number;
  /** Days between automatic rotations; 0 = only by hand. */
  rotationDays: number;
  /** Algorithm of keys generated from now on. */
  alg: SigningAlg;
  accessTokenTtlSeconds: number;
}

const LOCK = '.keys.lock';
const STALE_LOCK_MS = 30_000;
const DAY_MS = 86_400_000;

/** Runs `fn` holding an exclusive lock file in KEYS_DIR, so two instances never generate at once. */
export async function withLock<T>(dir: string, fn: () => Promise<T>, waitMs = 5000): Promise<T> {
  const lock = path.join(dir, LOCK);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await fs.stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS)
        await fs.rm(lock, { force: true }); // its holder died
      else if (Date.now() > deadline) throw new KeyError(`KEYS_DIR is locked by another process (${lock})`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

async function readAll(dir: string): Promise<KeyFile[]> {
  return Promise.all((await listKids(dir)).map((kid) => readKeyFile(dir, kid)));
}

const later = (...dates: Date[]) => new Date(Math.max(...dates.map((d) => d.getTime())));

/**
 * The earliest a key may start signing: once every instance has re-read the folder (twice the reload
 * interval: one for the interval, one for a tick delayed by a lock or a slow disk), and once it has been
 * published for the lead time.
 */
function earliestActivation(key: KeyFile, now: Date, policy: RotationPolicy): Date {
  return later(
    new Date(now.getTime() + 2 * policy.reloadSeconds * 1000),
    new Date(key.schedule.createdAt.getTime() + policy.leadSeconds * 1000),
  );
}

/** When automatic rotation lets `next` take over from the key that started at `activeSince`. Never in the past. */
function autoActivation(activeSince: Date, next: KeyFile, now: Date, policy: RotationPolicy): Date {
  return later(new Date(activeSince.getTime() + policy.rotationDays * DAY_MS), earliestActivation(next, now, policy));
}

/**
 * Brings KEYS_DIR to a usable shape: a key that signs (generated only if `generateIfEmpty`), and one next key.
 * With automatic rotation, gives an unscheduled next key its activation time. Returns what it did.
 */
export async function ensureKeys(
  dir: string,
  now: Date,
  policy: RotationPolicy,
  opts: { generateIfEmpty: boolean },
): Promise<string[]> {
  const done: string[] = [];
  if ((await listKids(dir)).length === 0) {
    if (!opts.generateIfEmpty)
      throw new KeyError(
        `no signing key in KEYS_DIR ${path.resolve(dir)}: ${GENERATE_KEYS_HINT}, with the same KEYS_DIR`,
      );
  }
  return withLock(dir, async () => {
    let keys = await readAll(dir);
    if (keys.length > 0 && keys.every((k) => k.schedule.unscheduled)) {
      // Keys from before schedules: write down what they already mean (active since made), so the next
      // key made below doesn't turn them into waiting keys.
      for (const k of keys)
        await writeSchedule(dir, k.kid, {
          createdAt: k.schedule.createdAt,
          activatesAt: k.schedule.createdAt,
          retiredAt: null,
        });
      done.push(`wrote schedules for ${keys.length} existing keys`);
      keys = await readAll(dir);
    }
    if (keys.length === 0) {
      done.push(`generated ${await generateKeyFile(dir, now, { alg: policy.alg, activatesAt: now })} (active)`);
      keys = await readAll(dir);
    }
    const states = keyStates(keys, now, policy);
    const active = states.find((s) => s.state === 'active')!.key;
    const nexts = states.filter((s) => s.state === 'next').map((s) => s.key);
    if (nexts.length === 0) {
      const kid = await generateKeyFile(dir, now, { alg: policy.alg, activatesAt: null });
      done.push(`generated ${kid} (next)`);
      nexts.push(await readKeyFile(dir, kid));
    }
    if (policy.rotationDays > 0) {
      for (const next of nexts.filter((k) => k.schedule.activatesAt === null)) {
        const at = autoActivation(active.schedule.activatesAt!, next, now, policy);
        await writeSchedule(dir, next.kid, { ...next.schedule, activatesAt: at });
        done.push(`scheduled ${next.kid} to sign from ${at.toISOString()}`);
      }
    }
    return done;
  });
}

export interface RotateResult {
  promoted: string;
  activatesAt: Date;
  /** The lead rule pushed the activation later than asked. */
  delayed: boolean;
  newNext: string;
}

/**
 * Promotes the oldest next key: it signs from `max(now + 2 × reload, published + lead)` (or `now` with
 * `immediate`, for emergencies: verifiers whose cache predates it refetch on the unknown kid), and
 * generates a new next key.
 */
export function rotate(
  dir: string,
  now: Date,
  policy: RotationPolicy,
  opts: { immediate?: boolean } = {},
): Promise<RotateResult> {
  return withLock(dir, () => rotateLocked(dir, now, policy, opts));
}

async function rotateLocked(
  dir: string,
  now: Date,
  policy: RotationPolicy,
  opts: { immediate?: boolean },
): Promise<RotateResult> {
  {
    const keys = await readAll(dir);
    if (keys.length === 0) throw new KeyError(`no signing key in KEYS_DIR ${path.resolve(dir)}`);
    const states = keyStates(keys, now, policy);
    let next = states
      .filter((s) => s.state === 'next')
      .map((s) => s.key)
      .sort((a, b) => a.schedule.createdAt.getTime() - b.schedule.createdAt.getTime())[0];
    if (!next) {
      const kid = await generateKeyFile(dir, now, { alg: policy.alg, activatesAt: null });
      next = await readKeyFile(dir, kid);
    }
    const safe = earliestActivation(next, now, policy);
    const activatesAt = opts.immediate ? now : safe;
    await writeSchedule(dir, next.kid, { ...next.schedule, activatesAt });
    if (opts.immediate) {
      // The current key stops now, even if it started this very moment (no tie to break).
      const current = states.find((st) => st.state === 'active')!.key;
      await writeSchedule(dir, current.kid, { ...current.schedule, retiredAt: now });
    }
    const newNext = await generateKeyFile(dir, now, { alg: policy.alg, activatesAt: null });
    if (policy.rotationDays > 0) {
      const created = await readKeyFile(dir, newNext);
      await writeSchedule(dir, newNext, {
        ...created.schedule,
        activatesAt: autoActivation(activatesAt, created, now, policy),
      });
    }
    return {
      promoted: next.kid,
      activatesAt,
      delayed: !opts.immediate && safe.getTime() > now.getTime() + 2 * policy.reloadSeconds * 1000,
      newNext,
    };
  }
}

/**
 * Retires a key now: it stops signing and stays published until its tokens have expired. Retiring the
 * active key first promotes the next one immediately (an emergency: the key must stop signing now).
 */
export function retire(dir: string, kid: string, now: Date, policy: RotationPolicy): Promise<{ promoted?: string }> {
  return withLock(dir, async () => {
    const keys = await readAll(dir);
    if (!keys.some((k) => k.kid === kid)) throw new KeyError(`no key ${kid} in KEYS_DIR ${path.resolve(dir)}`);
    const state = keyStates(keys, now, policy).find((s) => s.key.kid === kid)!;
    let promoted: string | undefined;
    if (state.state === 'active') promoted = (await rotateLocked(dir, now, policy, { immediate: true })).promoted;
    const current = await readKeyFile(dir, kid);
    // Retiring twice keeps the first date: a key that has left the JWKS must not come back.
    if (!current.schedule.retiredAt || current.schedule.retiredAt > now)
      await writeSchedule(dir, kid, { ...current.schedule, retiredAt: now });
    return promoted ? { promoted } : {};
  });
}

/** Deletes the files of retired keys that are no longer published. Returns their kids. */
export async function prune(dir: string, now: Date, policy: RotationPolicy): Promise<string[]> {
  return withLock(dir, async () => {
    const gone = keyStates(await readAll(dir), now, policy).filter((s) => !s.published);
    for (const s of gone) await removeKeyFiles(dir, s.key.kid);
    return gone.map((s) => s.key.kid);
  });
}
