/**
 * One timer for every deadline in the hub (Time To Purchase, bounded waits, flavor renewal
 * and expiry): a binary heap of due times, armed for the earliest. Rescheduling or cancelling
 * a key leaves its old heap entry behind and it is skipped when popped, so each operation is
 * O(log n) and a firing costs only the entries that are due — never a sweep of everything.
 */
import type { Clock, TimerHandle } from '../clock.js';

interface HeapEntry {
  at: number;
  key: string;
  version: number;
}

interface Live {
  version: number;
  at: number;
  fn: () => void;
}

// setTimeout stores its delay in an int32; longer deadlines are re-armed when reached.
const MAX_DELAY = 2_147_483_647;

export class DeadlineQueue {
  private heap: HeapEntry[] = [];
  private live = new Map<string, Live>();
  private version = 0;
  private timer: TimerHandle | undefined;
  private armedAt = Infinity;
  private closed = false;
  /** Heap entries examined by firings so far (due or stale): the cost of the scheduler. */
  private popped = 0;
  private watcher: ((key: string, lateMs: number) => void) | undefined;

  constructor(private readonly clock: Clock) {}

  stats(): { live: number; heap: number; popped: number } {
    return { live: this.live.size, heap: this.heap.length, popped: this.popped };
  }

  /** Runs fn at `at` (ms since epoch), replacing any deadline already held under key. */
  schedule(key: string, at: number, fn: () => void): void {
    if (this.closed) return;
    const version = ++this.version;
    this.live.set(key, { version, at, fn });
    this.push({ at, key, version });
    if (this.heap.length > 64 && this.heap.length > this.live.size * 3) this.compact();
    if (at < this.armedAt) this.arm();
  }

  /** Tells `fn` how late each deadline runs (key, ms after its time); one watcher. */
  observe(fn: (key: string, lateMs: number) => void): void {
    this.watcher = fn;
  }

  cancel(key: string): void {
    this.live.delete(key);
  }

  /** When the deadline held under key is due (ms since epoch); undefined when none is. */
  at(key: string): number | undefined {
    return this.live.get(key)?.at;
  }

  isClosed(): boolean {
    return this.closed;
  }

  get size(): number {
    return this.live.size;
  }

  /** Stops the timer and forgets every deadline; safe to call twice. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.heap = [];
    this.live.clear();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = this.clock.now();
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > now || this.closed) break;
      this.pop();
      this.popped++;
      const entry = this.live.get(top.key);
      if (!entry || entry.version !== top.version) continue;
      this.live.delete(top.key);
      this.watcher?.(top.key, now - top.at);
      entry.fn();
    }
    this.arm();
  }

  private arm(): void {
    if (this.closed) return;
    while (this.heap.length > 0) {
      const top = this.heap[0] as HeapEntry;
      const entry = this.live.get(top.key);
      if (entry && entry.version === top.version) break;
      this.pop();
    }
    const top = this.heap[0];
    if (!top) {
      this.timer?.cancel();
      this.timer = undefined;
      this.armedAt = Infinity;
      return;
    }
    if (this.timer && this.armedAt <= top.at) return;
    this.timer?.cancel();
    this.armedAt = top.at;
    const delay = Math.min(MAX_DELAY, Math.max(0, top.at - this.clock.now()));
    this.timer = this.clock.setTimer(() => this.fire(), delay);
  }

  private compact(): void {
    this.heap = [];
    for (const [key, l] of this.live) this.push({ at: l.at, key, version: l.version });
  }

  private push(e: HeapEntry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (less(h[parent] as HeapEntry, e)) break;
      h[i] = h[parent] as HeapEntry;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && less(h[r] as HeapEntry, h[l] as HeapEntry) ? r : l;
      if (less(last, h[c] as HeapEntry)) break;
      h[i] = h[c] as HeapEntry;
      i = c;
    }
    h[i] = last;
  }
}

function less(a: HeapEntry, b: HeapEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.version < b.version);
}
