/**
 * Liveness pings spread over their interval. Pinging every connection in one timer tick
 * stalled the event loop once per interval for as long as thousands of ping writes, and the
 * pongs that answer them at once, take: 50–140 ms with 5,000 subscribers (docs/benchmarks.md,
 * "Pings spread over their interval"), and every event fanned out meanwhile waited as long.
 * The wheel splits the connections into slices and the hub visits one slice per tick, so each
 * connection is still pinged once per interval (and dropped one interval after a ping it did
 * not answer), while a tick touches only its slice.
 */

/** About how often the hub's ping timer fires: the interval is cut into slices this long. */
export const PING_TICK_MS = 1000;

/** What the wheel keeps on each member: the slice it was put in. */
export interface PingSlot {
  pingSlice: number;
}

export class PingWheel<T extends PingSlot> {
  /** Time between two visits; one whole turn of the wheel takes the interval. */
  readonly tickMs: number;
  private readonly slices: Array<Set<T>>;
  /** The slice the next visit returns. */
  private turn = 0;
  /** The slice the next member joins: round robin, so slices stay within one of each other as members join. */
  private next = 0;

  constructor(intervalMs: number) {
    const n = Math.max(1, Math.round(intervalMs / PING_TICK_MS));
    this.tickMs = intervalMs / n;
    this.slices = Array.from({ length: n }, () => new Set<T>());
  }

  get sliceCount(): number {
    return this.slices.length;
  }

  add(member: T): void {
    member.pingSlice = this.next;
    (this.slices[this.next] as Set<T>).add(member);
    this.next = (this.next + 1) % this.slices.length;
  }

  remove(member: T): void {
    this.slices[member.pingSlice]?.delete(member);
  }

  /** The slice due now; the next call returns the one after it, around the wheel. */
  visit(): ReadonlySet<T> {
    const slice = this.slices[this.turn] as Set<T>;
    this.turn = (this.turn + 1) % this.slices.length;
    return slice;
  }
}
