// npm run keys -- list              every key in KEYS_DIR with its state (next, active, retired)
// npm run keys -- generate          first run: an active key and a next key; later: one more next key
// npm run keys -- rotate [--now]    the next key signs once every cache and instance holds it; a new next key is made
// npm run keys -- retire <kid>      stop signing with a key now (the active one: the next key takes over at once)
// npm run keys -- prune             delete retired keys that are no longer published (and refresh-token keys no longer needed)
// npm run keys -- rotate-refresh    add a refresh-token MAC key; it mints once every instance has read it, old keys keep verifying
// Reads the service's own configuration (KEYS_DIR, SIGNING_ALG, JWKS_MAX_AGE_SECONDS, KEYS_RELOAD_SECONDS,
// KEY_ROTATION_DAYS, ACCESS_TOKEN_TTL_SECONDS) from the environment. Running instances follow within
// KEYS_RELOAD_SECONDS; no restart. Compiled to dist/scripts/keys.js, so the container image (no tsx)
// runs it as `node dist/scripts/keys.js …`.
import { loadConfig } from '../src/config.js';
import { systemClock } from '../src/domain/clock.js';
import { ensureKeys, prune, retire, rotate } from '../src/domain/keys/key-rotation.js';
import { generateKeyFile, KeyStore } from '../src/domain/keys/keys.js';
import { ensureMacKey, MacKeyRing, pruneMacKeys, rotateMacKey } from '../src/domain/keys/refresh-keys.js';
import { describeKey, describeMacKey } from './key-listing.js';
import { macKeyPolicy, rotationPolicy } from '../src/domain/keys/key-policies.js';

// Not serving: no ISSUER needed, even with the image's NODE_ENV=production.
const config = loadConfig(process.env, { serving: false });
const dir = config.keysDir;
const policy = rotationPolicy(config);
const now = new Date();
const [cmd, arg] = process.argv.slice(2);

async function list(): Promise<void> {
  const store = await KeyStore.open(dir, {
    clock: systemClock,
    accessTokenTtlSeconds: config.accessTokenTtl,
    reloadSeconds: config.keysReloadSeconds,
  });
  for (const status of store.statuses) console.log(describeKey(status));
  const ring = await MacKeyRing.open(dir, systemClock, macKeyPolicy(config)).catch(() => null);
  if (ring) for (const status of ring.statuses) console.log(describeMacKey(status));
  else console.log(`no refresh-token key: npm run keys -- rotate-refresh`);
}

try {
  if (cmd === 'list') {
    await list();
  } else if (cmd === 'generate') {
    const done = await ensureKeys(dir, now, policy, { generateIfEmpty: true });
    if (done.length === 0)
      done.push(`generated ${await generateKeyFile(dir, now, { alg: policy.alg, activatesAt: null })} (next)`);
    const mac = await ensureMacKey(dir, now);
    if (mac) done.push(`generated refresh-token key ${mac}`);
    for (const line of done) console.log(line);
  } else if (cmd === 'rotate') {
    const immediate = arg === '--now';
    const r = await rotate(dir, now, policy, { immediate });
    console.log(
      `${r.promoted} signs from ${r.activatesAt.toISOString()}${r.delayed ? ' (it must be published for JWKS_MAX_AGE_SECONDS + KEYS_RELOAD_SECONDS first)' : ''}`,
    );
    if (immediate) console.log('--now: verifiers whose cached JWKS predates this key refetch when they meet its kid');
    console.log(`${r.newNext} is the new next key`);
  } else if (cmd === 'retire' && arg) {
    const r = await retire(dir, arg, now, policy);
    if (r.promoted) console.log(`${r.promoted} took over signing now`);
    console.log(`${arg} retired; published until the tokens it signed have expired`);
  } else if (cmd === 'prune') {
    const gone = [
      ...(await prune(dir, now, policy)),
      ...(await pruneMacKeys(dir, now, macKeyPolicy(config))).map((id) => `refresh-${id}`),
    ];
    console.log(gone.length ? `deleted ${gone.join(', ')}` : 'nothing to prune');
  } else if (cmd === 'rotate-refresh') {
    const id = await rotateMacKey(dir, now);
    console.log(
      `refresh-${id} mints refresh tokens from ${new Date(now.getTime() + 2 * config.keysReloadSeconds * 1000).toISOString()}; older refresh-token keys keep verifying (nobody is logged out)`,
    );
  } else {
    console.error(
      'usage: npm run keys -- list | generate | rotate [--now] | retire <kid> | prune | rotate-refresh   (KEYS_DIR, default keys/)',
    );
    console.error('       node dist/scripts/keys.js …   the same, compiled (in the container image)');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
}
