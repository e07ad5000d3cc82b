// The shard processes of `npm test` (test/shard.ts) run without tap's async hook: imported by each shard's entry
// file before tap.
//
// tap gives each test an async-hook domain (async-hook-domain) so that an error thrown later, in a timer or a
// promise no test awaits, fails the test that started that work instead of the process. To know which test that
// is, it enables an async hook with `init` and `destroy` callbacks: every promise the process creates then runs
// JavaScript at its creation and is tracked until it is collected. In a shard, running half of the fast tiers'
// files, that cost about 15% of the process's CPU (paired runs of shard 1: 60.9 s of CPU with the hook, 51.9 s
// without; `npm test` 73 → 61 s). An async hook with `init` alone cost nearly as much: any hook turns on V8's
// promise hooks.
//
// Without the hook, an error thrown outside every test's await chain is no longer pinned on one test. Thrown
// from a timer or a callback, it stops the process with the error printed: tap reports the shard as failed, and
// the files it had not run yet go to the other shard or are not run, the run failing either way. A promise
// rejected with no handler is still caught by tap's root and reported as a failure of the run, which goes on.
// Loud, never silent (test/system/shard-async-hooks.test.ts proves the first). Each file run on its own (`npm run
// test:all`, what CI runs next to `npm test`) keeps tap's domains and the per-test report.
//
// How: async-hook-domain imports `createHook` from node:async_hooks and calls it when tap's root test is made, as
// tap loads. Node's ES module bindings to built-in modules follow the built-in's exports once
// `syncBuiltinESMExports()` is called, so replacing the export here, before tap is evaluated, hands
// async-hook-domain a hook that is never enabled. Every other caller of createHook gets a real one.
import asyncHooks from 'node:async_hooks';
import { syncBuiltinESMExports } from 'node:module';

const createHook = asyncHooks.createHook;
let intercepted = 0;

asyncHooks.createHook = (callbacks) => {
  const hook = createHook(callbacks);
  if (!/[\\/]node_modules[\\/]async-hook-domain[\\/]/.test(new Error().stack ?? '')) return hook;
  intercepted += 1;
  hook.enable = () => hook;
  return hook;
};
syncBuiltinESMExports();

/** How many of async-hook-domain's hooks were left off: 1 once tap is loaded, in a shard. */
export const domainHooksLeftOff = (): number => intercepted;
