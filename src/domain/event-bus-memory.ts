/**
 * The in-process event bus: listeners are called synchronously in seq order, and the bounded
 * history is in two parts. What was retained when the store was opened stays in the store
 * (a start reads only its range; up to 100,000 texts were about a third of what a restart
 * read) and is read from it by a resume that reaches back to it; what is published after is
 * a ring kept in memory. Bounded by count and by age, whichever is reached first.
 *
 * Seqs are consecutive (the journal and the shared store count them one by one), so the
 * stored part's size is its seq range, and a read of it that skips a seq has met a prune
 * made meanwhile: that resume is answered "not recovered" rather than with a gap.
 */
import type { Clock } from '../clock.js';
import type { EventTime, StoredEvent } from '../store/store.js';
import type { EventBus, EventListener, Resumed } from './event-bus.js';
import { fromRecord, retained, type DomainEvent } from './events.js';

export interface HistoryBound {
  /** Most events kept. */
  maxEvents: number;
  /** Oldest event kept, in ms of age. */
  maxAgeMs: number;
}

/** Where the history retained at open stays (the store). */
export interface StoredHistory {
  eventsAfter(after: number, limit: number): Promise<StoredEvent[]>;
  eventTimes(after: number, limit: number): Promise<EventTime[]>;
}

/** Stored events a resume reads per event-loop turn. */
const PAGE = 1000;
/** Stored events' times read at once, as the age bound reaches them. */
const TIMES_PAGE = 2000;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class MemoryEventBus implements EventBus {
  private readonly listeners = new Set<EventListener>();
  /**
   * Events published since open, the retained ones from `head`; the slots before it are
   * cleared as they are dropped, so a dropped event is garbage at once rather than at the
   * next compaction (which left up to twice the bound's events alive).
   */
  private history: Array<DomainEvent | undefined> = [];
  private head = 0;
  private last = 0;
  private pruned = 0;
  /** The stored part: seqs firstSeq..storedThrough, those above `pruned` retained. */
  private readonly firstSeq: number;
  private readonly storedThrough: number;
  /**
   * A window of the stored part's times: seqs `windowFrom`… up to `timesThrough`, read from
   * the store as the age bound reaches them (`fetchTimes`), one page at a time.
   */
  private window: Float64Array | undefined;
  private windowFrom = 0;
  private timesThrough = 0;
  /** Set once `readTimes` has started the age bound on the stored part. */
  private timing = false;
  private fetching: Promise<void> | undefined;
  private timesFailed = false;
  private timesPage = TIMES_PAGE;
  private closed = false;
  readonly epoch: string;

  constructor(
    private readonly clock: Clock,
    private readonly bound: HistoryBound,
    /** The history as the store was opened with: its range (store.ts `Loaded`) and name. */
    initial: { lastSeq: number; firstSeq: number; epoch: string },
    /** Where the stored part is read from. */
    private readonly store: StoredHistory,
  ) {
    this.epoch = initial.epoch;
    this.last = initial.lastSeq;
    this.firstSeq = initial.firstSeq;
    this.storedThrough = initial.lastSeq;
    this.pruned = Math.min(initial.firstSeq, initial.lastSeq + 1) - 1;
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

  resume(since: number, keep: (event: DomainEvent) => boolean, then: Resumed): void {
    if (!this.reaches(since)) {
      then(undefined);
      return;
    }
    if (since >= this.storedThrough) {
      then(this.inMemory(since, keep));
      return;
    }
    this.readStored(since, keep).then(
      // Every event published since open is still in memory while any stored one is
      // retained (the stored part is pruned first); if not, the two parts no longer meet.
      (older) =>
        then(
          older !== undefined && this.pruned <= this.storedThrough
            ? older.concat(this.inMemory(this.storedThrough, keep))
            : undefined,
        ),
      () => then(undefined),
    );
  }

  reaches(since: number): boolean {
    return since >= this.pruned && since <= this.last;
  }

  /**
   * Starts the age bound on the stored part and settles once it holds as of now. Its events'
   * times are read from the store as the bound reaches them, a page at a time: at start only
   * the oldest page (a whole scan of the history's table cost ~0.15 s of the event loop),
   * then the next as those age out. Until then that part is bounded by count only (it costs
   * no memory), and so is what was published after it, since the history is dropped oldest
   * first. Never rejects: after a failed read the stored part stays bounded by count alone.
   */
  async readTimes(page = TIMES_PAGE): Promise<void> {
    this.timesPage = page;
    this.timing = true;
    this.timesThrough = Math.max(this.timesThrough, this.pruned);
    for (;;) {
      this.trim();
      const reading = this.fetching;
      if (reading === undefined) return;
      await reading;
    }
  }

  /** Reads the next page of the stored part's times, then applies the bound again. */
  private fetchTimes(): void {
    if (this.fetching || this.timesFailed || this.closed || !this.timing) return;
    // Past what count pruning dropped meanwhile.
    const after = Math.max(this.timesThrough, this.pruned);
    const through = this.storedThrough;
    const page = this.timesPage;
    this.fetching = (async () => {
      try {
        // A page per turn, however many have aged out while the hub was down.
        await nextTurn();
        const rows = await this.store.eventTimes(after, page);
        // Fewer than asked: the rest was pruned from the store meanwhile (its times: long ago).
        const last =
          rows.length < page ? through : Math.min(through, (rows.at(-1) as EventTime).seq);
        const window = new Float64Array(last - after).fill(-Infinity);
        let filled = after;
        for (const r of rows) {
          if (r.seq > last) break;
          window.fill(r.at, filled - after, r.seq - after);
          filled = r.seq;
        }
        this.window = window;
        this.windowFrom = after + 1;
        this.timesThrough = last;
      } catch {
        // Bounded by count alone from here; a resume still reads what it needs.
        this.timesFailed = true;
      } finally {
        this.fetching = undefined;
      }
      if (!this.closed) this.trim();
    })();
  }

  /** Stops reading the store (times, resumes in flight answer "not recovered"). */
  close(): void {
    this.closed = true;
  }

  /** Drops what the bound no longer allows; returns the seq pruned through. */
  trim(): number {
    const oldest = this.clock.now() - this.bound.maxAgeMs;
    const inMemory = this.history.length - this.head;
    // The stored part is older than every event in memory: it goes first.
    while (this.pruned < this.storedThrough) {
      const over = this.storedThrough - this.pruned + inMemory - this.bound.maxEvents;
      if (over > 0) {
        this.pruned = Math.min(this.storedThrough, this.pruned + over);
        continue;
      }
      const next = this.pruned + 1;
      // An event whose age is not known yet stays, and so does everything after it.
      if (next > this.timesThrough) {
        this.fetchTimes();
        return this.pruned;
      }
      if (((this.window as Float64Array)[next - this.windowFrom] as number) >= oldest) {
        return this.pruned;
      }
      this.pruned = next;
    }
    this.window = undefined;
    while (this.head < this.history.length) {
      const e = this.history[this.head] as DomainEvent;
      const live = this.history.length - this.head;
      if (live <= this.bound.maxEvents && e.at >= oldest) break;
      this.pruned = e.seq;
      this.history[this.head++] = undefined;
    }
    // Compact the array once the dead prefix dominates, so memory stays bounded.
    if (this.head > 1024 && this.head * 2 > this.history.length) {
      this.history = this.history.slice(this.head);
      this.head = 0;
    }
    return this.pruned;
  }

  /** Events in memory with seq > since that `keep` accepts. */
  private inMemory(since: number, keep: (event: DomainEvent) => boolean): DomainEvent[] {
    // Binary search for the first retained event after `since`.
    let lo = this.head;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.history[mid] as DomainEvent).seq <= since) lo = mid + 1;
      else hi = mid;
    }
    const out: DomainEvent[] = [];
    for (let i = lo; i < this.history.length; i++) {
      const e = this.history[i] as DomainEvent;
      if (keep(e)) out.push(e);
    }
    return out;
  }

  /**
   * The stored events after `since` through the stored part's end that `keep` accepts, a
   * page per turn; undefined if the store no longer holds one of them.
   */
  private async readStored(
    since: number,
    keep: (event: DomainEvent) => boolean,
  ): Promise<DomainEvent[] | undefined> {
    const out: DomainEvent[] = [];
    let expected = since + 1;
    while (expected <= this.storedThrough) {
      if (this.closed) return undefined;
      const limit = Math.min(PAGE, this.storedThrough - expected + 1);
      const page = await this.store.eventsAfter(expected - 1, limit);
      if (page.length === 0) return undefined;
      for (const record of page) {
        // A skipped seq was pruned while this resume read: a gap, so not recovered.
        if (record.seq !== expected) return undefined;
        expected++;
        const e = fromRecord(record);
        if (keep(e)) out.push(e);
      }
      if (expected <= this.storedThrough) await nextTurn();
    }
    return out;
  }
}
