/** Where domain code gets the time, so tests can freeze or move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
