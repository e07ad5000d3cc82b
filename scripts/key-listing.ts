// How `npm run keys -- list` prints a key: one line each, for people reading a terminal. Formatting for the
// CLI, kept out of the domain (src/domain/keys/), which only says what state a key is in.
import type { KeyStatus } from '../src/domain/keys/keys.js';
import type { MacKeyStatus } from '../src/domain/keys/refresh-keys.js';

export function describeKey(status: KeyStatus): string {
  const { key, state } = status;
  const at = key.schedule.activatesAt;
  const detail =
    state === 'active'
      ? `signing since ${at!.toISOString()}`
      : state === 'next'
        ? at
          ? `signs from ${at.toISOString()}`
          : 'waiting for `rotate`'
        : status.published
          ? `retired ${status.retiredAt!.toISOString()}, published until its tokens expire`
          : `retired ${status.retiredAt!.toISOString()}, no longer published (prune deletes it)`;
  return `${key.kid}  ${key.alg.padEnd(5)}  ${state.padEnd(7)}  ${detail}`;
}

export function describeMacKey(status: MacKeyStatus): string {
  const { key, state } = status;
  const detail =
    state === 'active'
      ? 'mints refresh tokens'
      : state === 'next'
        ? 'mints once every instance has read it'
        : status.prunable
          ? `retired ${status.retiredAt!.toISOString()}, verifies nothing live (prune deletes it)`
          : `retired ${status.retiredAt!.toISOString()}, still verifies the tokens it made`;
  return `refresh-${key.id}  HS256  ${state.padEnd(7)}  ${detail}`;
}
