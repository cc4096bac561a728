/**
 * An instance's view of a shared market: it tails the store's event history by seq and, for
 * each event in order, updates the local catalog copy (what LIST and selector snapshots read)
 * and publishes the event on the local bus (what this instance's subscribers hear, and the
 * history they resume from). A wake-up from the store starts a read; a poll every second
 * covers one that was lost. A change made here is answered only once the feed has passed it
 * (`reached`), so a client reads its own writes on the instance it wrote through.
 *
 * The events this instance commits itself are handed over once their COMMIT is acknowledged
 * (`committed`) and applied from memory, in their place: the store gives seqs in commit order
 * (shared-store.ts), so every seq below one of ours is committed by then, and the feed reads
 * only those it lacks, leaving ours out of the read. Every event still passes through one
 * place that applies seqs strictly in order and once, whichever way it came; the seqs are the
 * store's, the same on every instance.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { SharedStore } from '../store/shared-store.js';
import type { StoredEvent } from '../store/store.js';
import type { Flavor } from '../types/wire.js';
import type { Catalog } from './catalog.js';
import type { EventBus } from './event-bus.js';
import { flavorKindOf, fromRecord, type DomainEvent } from './events.js';
import { makeEntry, type FlavorEntry } from './flavor-entry.js';
import { factsOf } from './flavor-facts.js';

const PAGE = 1000;
const POLL_MS = 1000;

/** An event as this instance committed it, with what it does to the catalog copy. */
export interface OwnEvent {
  readonly event: DomainEvent;
  /**
   * The offer as the event leaves it (added, refreshed); null when it leaves the market;
   * undefined when the offer is unchanged (a confirmation).
   */
  readonly offer: FlavorEntry | null | undefined;
}

export class SharedFeed {
  private cursor: number;
  private reading = false;
  /** Newest seq a wake-up asked for (Infinity: unknown, read what there is); 0 when none. */
  private wanted = 0;
  private closed = false;
  /** Events this instance committed that the cursor has not passed yet, by seq. */
  private readonly own = new Map<number, OwnEvent>();
  private readonly waits: Array<{ seq: number; resolve: () => void }> = [];
  private poll: TimerHandle | undefined;
  /**
   * Events applied (`events`: all; `own`: of those, applied from this instance's commits
   * without being read back), reads of the store, and gaps met (a history pruned past
   * this instance's cursor).
   */
  readonly counts = { events: 0, own: 0, reads: 0, gaps: 0 };

  constructor(
    private readonly store: SharedStore,
    private readonly catalog: Catalog,
    private readonly bus: EventBus,
    private readonly clock: Clock,
    from: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.cursor = from;
  }

  /** The newest seq applied here. */
  get position(): number {
    return this.cursor;
  }

  start(): void {
    const tick = (): void => {
      if (this.closed) return;
      this.wake(undefined);
      this.poll = this.clock.setTimer(tick, POLL_MS);
    };
    this.poll = this.clock.setTimer(tick, POLL_MS);
  }

  /** Something was committed (up to `newest`, when known): read what is new. */
  wake(newest: number | undefined): void {
    if (this.closed || (newest !== undefined && newest <= this.cursor)) return;
    this.wanted = Math.max(this.wanted, newest ?? Infinity);
    if (!this.reading) void this.read();
  }

  /** Resolves once this instance has applied every event up to seq. */
  reached(seq: number): Promise<void> {
    if (seq <= this.cursor || this.closed) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.waits.push({ seq, resolve }));
    this.wake(seq);
    return p;
  }

  /**
   * Events this instance has just committed (COMMIT acknowledged; `lastSeq` the newest seq
   * it wrote): applied without reading them back, each in its place in seq order. Resolves
   * like `reached(lastSeq)`.
   */
  committed(events: readonly OwnEvent[], lastSeq: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    for (const e of events) if (e.event.seq > this.cursor) this.own.set(e.event.seq, e);
    // A read under way applies them when its page is in (it may hold seqs below them).
    if (!this.reading) this.drain();
    return this.reached(lastSeq);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poll?.cancel();
    this.own.clear();
    for (const w of this.waits.splice(0)) w.resolve();
  }

  private async read(): Promise<void> {
    this.reading = true;
    try {
      for (;;) {
        this.drain();
        // What is known to be committed and is not applied yet: what a wake-up announced, and
        // every seq below an event of ours still waiting for its turn.
        let need = this.wanted;
        for (const seq of this.own.keys()) need = Math.max(need, seq - 1);
        if (need <= this.cursor) break;
        this.wanted = 0;
        // Ours are left out of the read; they were committed before it began, so the read
        // sees everything below them that is still retained.
        const skip = [...this.own.keys()];
        const page = await this.store.eventsAfter(this.cursor, PAGE, skip);
        this.counts.reads++;
        if (this.closed) return;
        for (const record of page) {
          this.ownBelow(record.seq);
          if (record.seq <= this.cursor) continue;
          const mine = this.own.get(record.seq);
          if (mine) this.applyOwn(mine);
          else this.applyStored(record);
        }
        const last = page[page.length - 1];
        if (page.length === PAGE && last) {
          // More to read: keep asking for at least what this page reached.
          this.wanted = Math.max(this.wanted, last.seq + 1);
        } else {
          // The read saw every retained event below ours: apply them, past any pruned gap.
          for (const seq of skip) this.ownBelow(seq + 1);
        }
        this.release();
      }
    } catch (err) {
      // The store is unreachable: the next wake-up or poll reads from the same cursor.
      this.onError(err);
    } finally {
      this.reading = false;
    }
  }

  /** Applies our events that follow the cursor without a gap. */
  private drain(): void {
    let next = this.own.get(this.cursor + 1);
    if (!next) return;
    while (next) {
      this.applyOwn(next);
      next = this.own.get(this.cursor + 1);
    }
    this.release();
  }

  /** Applies our events with seq below `seq`, in order; the caller knows none is missing. */
  private ownBelow(seq: number): void {
    if (this.own.size === 0) return;
    const below = [...this.own.keys()].filter((s) => s < seq).sort((a, b) => a - b);
    for (const s of below) this.applyOwn(this.own.get(s) as OwnEvent);
  }

  private applyOwn(e: OwnEvent): void {
    const event = e.event;
    this.own.delete(event.seq);
    if (event.seq <= this.cursor) return;
    if (e.offer) {
      // The copy keeps no renewal settings (the leader reads them from the store), like the
      // entries built from read events.
      const o = e.offer;
      this.catalog.put(makeEntry(o.flavor, false, 0, o.facts, o.json));
    } else if (e.offer === null) {
      this.catalog.drop(event.flavorId);
    }
    this.counts.own++;
    this.advance(event);
  }

  private applyStored(r: StoredEvent): void {
    const kind = flavorKindOf(r.wire);
    if (kind === 'added' || kind === 'refreshed') {
      // The one parse of the event: its flavor gives the facts and the catalog entry.
      const flavor = (JSON.parse(r.wire) as { Flavor: Flavor }).Flavor;
      const facts = factsOf(flavor);
      // The renewal settings stay with the leader, which reads them from the store.
      const prev = this.catalog.put(makeEntry(flavor, false, 0, facts));
      const base = { seq: r.seq, at: r.at, flavorId: r.flavorId, wire: r.wire, facts };
      // Events are applied in seq order, so the copy held the flavor as the refresh found it
      // (the store's `prev`, which the read leaves out).
      this.advance(
        kind === 'added'
          ? { kind, ...base }
          : { kind, ...base, prevFacts: prev ? prev.facts : facts },
      );
      return;
    }
    // A withdrawal's facts are parsed only if a selector asks for them; a confirmation is small.
    const event = fromRecord(r);
    if (event.kind === 'withdrawn') this.catalog.drop(r.flavorId);
    this.advance(event);
  }

  private advance(event: DomainEvent): void {
    if (event.seq !== this.cursor + 1) this.counts.gaps++;
    this.cursor = event.seq;
    this.counts.events++;
    this.bus.publish(event);
  }

  private release(): void {
    for (let i = this.waits.length - 1; i >= 0; i--) {
      const w = this.waits[i] as { seq: number; resolve: () => void };
      if (w.seq <= this.cursor) {
        this.waits.splice(i, 1);
        w.resolve();
      }
    }
  }
}
