/** Source of time. Everything that depends on "now" takes a Clock so tests can move time by hand. */
export interface Clock {
  now(): Date;
  /** `now()` in epoch milliseconds, without making a Date (for per-request hot paths). */
  ms(): number;
}

export const systemClock: Clock = { now: () => new Date(), ms: () => Date.now() };

/** A clock that only moves when told to; for tests and for replaying schedules. */
export class ManualClock implements Clock {
  #ms: number;
  constructor(start: Date | string | number = "2026-01-05T09:00:00.000Z") {
    this.#ms = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.#ms);
  }
  ms(): number {
    return this.#ms;
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
  set(to: Date | string | number): void {
    this.#ms = new Date(to).getTime();
  }
}
