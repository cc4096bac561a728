/**
 * The one clock abstraction. Domain code asks a Clock for the time and for timers, so that
 * unit tests drive time by hand (FakeClock) and production reads the system clock.
 * Date.now() is read here and nowhere else in src/ (a lint rule enforces it).
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls fn once after ms. The caller owns the handle and must cancel it on close. */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    // A pending deadline never keeps the process alive on its own: owners close explicitly.
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

interface FakeTimer {
  at: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; timers fire in due order during advance(). */
export class FakeClock implements Clock {
  private current: number;
  private timers: FakeTimer[] = [];
  private order = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = {
      at: this.current + Math.max(0, ms),
      order: this.order++,
      fn,
      cancelled: false,
    };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Moves time forward by ms, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      this.timers.sort((a, b) => a.at - b.at || a.order - b.order);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = target;
  }

  /** Timers not yet fired or cancelled. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

/**
 * The text of a few recent seconds, up to their milliseconds: a sale writes four or five
 * times (its hold's end, the contract's start and end, its events'), each in one of a few
 * seconds, and `toISOString` was a visible share of a sale's event-loop time.
 */
const SECONDS = 4;
const secondKeys: number[] = new Array<number>(SECONDS).fill(NaN);
const secondTexts: string[] = new Array<string>(SECONDS).fill('');
let nextSlot = 0;
/** Date's range: ±100,000,000 days from the epoch, in ms. */
const MAX_TIME = 8.64e15;

/** RFC 3339 in UTC with milliseconds: exactly `new Date(ms).toISOString()`. */
export function toRfc3339(ms: number): string {
  // Date keeps whole milliseconds, truncated toward zero (TimeClip).
  const t = Math.trunc(ms);
  // NaN and times out of Date's range throw, as toISOString does.
  if (!(Math.abs(t) <= MAX_TIME)) return new Date(ms).toISOString();
  // Exact: below 2^53 a correctly rounded quotient never crosses a whole number.
  const second = Math.floor(t / 1000);
  let slot = secondKeys.indexOf(second);
  if (slot < 0) {
    const text = new Date(second * 1000).toISOString();
    slot = nextSlot;
    nextSlot = (nextSlot + 1) % SECONDS;
    secondKeys[slot] = second;
    // Everything but the milliseconds and the Z ("…:ss.").
    secondTexts[slot] = text.slice(0, -4);
  }
  const milli = t - second * 1000;
  return `${secondTexts[slot] as string}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
