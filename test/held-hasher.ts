// Holds an app's password hasher at its next call, so a test can make a race certain instead of leaving it to
// the scheduler: a request that hashes or checks a password (slow at production cost) waits there while the test
// commits what would race it, then goes on. Later calls pass through; the hasher is restored at the test's end.
import type { Test } from 'tap';
import type { TestApp } from './helper.js';

export function holdNext(t: Test, app: TestApp, method: 'hash' | 'verify') {
  const hasher = app.services.passwords;
  const original = hasher[method].bind(hasher) as (...args: unknown[]) => Promise<unknown>;
  let started!: () => void;
  /** Settles when the held call starts. */
  const reached = new Promise<void>((resolve) => {
    started = resolve;
  });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let calls = 0;
  (hasher as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    if (++calls === 1) {
      started();
      await released;
    }
    return original(...args);
  };
  const restore = () => Reflect.deleteProperty(hasher, method);
  t.teardown(restore);
  return { reached, release, restore };
}
