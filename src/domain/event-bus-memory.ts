/**
 * The in-process event bus: listeners are called synchronously in seq order, and the
 * bounded history is a ring kept in memory (mirroring the store's retained events, which
 * refill it at start). Bounded by count and by age, whichever is reached first.
 */
import type { Clock } from '../clock.js';
import type { EventBus, EventListener } from './event-bus.js';
import { retained, type DomainEvent } from './events.js';

export interface HistoryBound {
  /** Most events kept. */
  maxEvents: number;
  /** Oldest event kept, in ms of age. */
  maxAgeMs: number;
}

export class MemoryEventBus implements EventBus {
  private readonly listeners = new Set<EventListener>();
  private history: DomainEvent[] = [];
  private head = 0;
  private last = 0;
  private pruned = 0;
  readonly epoch: string;

  constructor(
    private readonly clock: Clock,
    private readonly bound: HistoryBound,
    initial: { lastSeq: number; events: DomainEvent[]; epoch: string },
  ) {
    this.epoch = initial.epoch;
    this.last = initial.lastSeq;
    this.history = initial.events.slice();
    const firstSeq = this.history[0]?.seq;
    this.pruned = firstSeq === undefined ? this.last : firstSeq - 1;
    this.trim();
  }

  get lastSeq(): number {
    return this.last;
  }

  get prunedThrough(): number {
    return this.pruned;
  }

  publish(event: DomainEvent): void {
    if (event.seq <= this.last)
      throw new Error(`event seq ${event.seq} does not grow past ${this.last}`);
    this.last = event.seq;
    // Listeners get the event as made; the history keeps its small form.
    this.history.push(retained(event));
    this.trim();
    for (const listener of this.listeners) listener(event);
  }

  listen(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  *replay(since: number): Iterable<DomainEvent> {
    // Binary search for the first retained event after `since`.
    let lo = this.head;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.history[mid] as DomainEvent).seq <= since) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.history.length; i++) yield this.history[i] as DomainEvent;
  }

  reaches(since: number): boolean {
    return since >= this.pruned && since <= this.last;
  }

  /** Drops what the bound no longer allows; returns the seq pruned through. */
  trim(): number {
    const oldest = this.clock.now() - this.bound.maxAgeMs;
    while (this.head < this.history.length) {
      const e = this.history[this.head] as DomainEvent;
      const live = this.history.length - this.head;
      if (live <= this.bound.maxEvents && e.at >= oldest) break;
      this.pruned = e.seq;
      this.head++;
    }
    // Compact the array once the dead prefix dominates, so memory stays bounded.
    if (this.head > 1024 && this.head * 2 > this.history.length) {
      this.history = this.history.slice(this.head);
      this.head = 0;
    }
    return this.pruned;
  }
}
