/**
 * An instance's view of a shared market: it tails the store's event history by seq and, for
 * each event in order, updates the local catalog copy (what LIST and selector snapshots read)
 * and publishes the event on the local bus (what this instance's subscribers hear, and the
 * history they resume from). A wake-up from the store starts a read; a poll every second
 * covers one that was lost. A change made here is answered only once the feed has passed it
 * (`reached`), so a client reads its own writes on the instance it wrote through.
 *
 * While no change made here waits on the feed, it reads at most once per GATHER_MS: a wake-up
 * that comes sooner after the last read is gathered with the others of that window into one
 * read at its end. An instance that only follows another's sales would otherwise read once per
 * commit it hears of (0.98 reads per sale, a third of its CPU per sale sold elsewhere) to
 * deliver a few ms sooner; a change heard after a quiet spell is still read at once, and a
 * change of the instance's own ends a gathering and reads at once.
 *
 * Each event read is parsed at most once — one this instance wrote not at all, its entry is
 * the one written (shared-entries.ts) — and a refresh's flavor before it is the catalog copy's:
 * events are applied in seq order, so the copy holds that version when its refresh arrives
 * (new rows keep no copy of it).
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { SharedStore } from '../store/shared-store.js';
import type { StoredEvent } from '../store/store.js';
import type { Catalog } from './catalog.js';
import type { EventBus } from './event-bus.js';
import { flavorKindOf, fromRecord, type DomainEvent } from './events.js';
import { SharedEntries } from './shared-entries.js';

const PAGE = 1000;
const POLL_MS = 1000;
/** A follower's reads are at least this far apart, in ms (see above). */
export const GATHER_MS = 10;

export class SharedFeed {
  private cursor: number;
  private reading = false;
  private again = false;
  private closed = false;
  private readonly waits: Array<{ seq: number; resolve: () => void }> = [];
  private poll: TimerHandle | undefined;
  /** A read gathering wake-ups, due at the end of its window. */
  private gathering: TimerHandle | undefined;
  /** When the last read started (clock ms). */
  private lastRead = -Infinity;
  /** Events read so far, and gaps met (a history pruned past this instance's cursor). */
  readonly counts = { events: 0, gaps: 0 };
  /** The flavors held parsed: the catalog copy and this instance's own writes. */
  readonly entries: SharedEntries;

  constructor(
    private readonly store: SharedStore,
    private readonly catalog: Catalog,
    private readonly bus: EventBus,
    private readonly clock: Clock,
    from: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.cursor = from;
    this.entries = new SharedEntries(catalog);
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
    if (this.reading) {
      this.again = true;
      return;
    }
    const since = this.clock.now() - this.lastRead;
    if (this.waits.length === 0 && since < GATHER_MS) {
      // A clock set back makes `since` negative: the window is still GATHER_MS at most. Only
      // a read ends a window (it cancels it), and none runs while one is open.
      this.gathering ??= this.clock.setTimer(
        () => void this.read(),
        GATHER_MS - Math.max(0, since),
      );
      return;
    }
    void this.read();
  }

  /** Resolves once this instance has applied every event up to seq. */
  reached(seq: number): Promise<void> {
    if (seq <= this.cursor || this.closed) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.waits.push({ seq, resolve }));
    this.wake(seq);
    return p;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poll?.cancel();
    this.gathering?.cancel();
    for (const w of this.waits.splice(0)) w.resolve();
  }

  private async read(): Promise<void> {
    this.reading = true;
    this.gathering?.cancel();
    this.gathering = undefined;
    try {
      do {
        this.again = false;
        this.lastRead = this.clock.now();
        let page;
        do {
          page = await this.store.eventsAfter(this.cursor, PAGE);
          if (this.closed) return;
          for (const record of page) {
            if (record.seq !== this.cursor + 1) this.counts.gaps++;
            this.apply(record);
            this.cursor = record.seq;
            this.counts.events++;
          }
          this.release();
        } while (page.length === PAGE);
        // Heard of during the read: read on at once if a change of ours waits, else gather.
      } while (this.again && this.waits.length > 0);
    } catch (err) {
      // The store is unreachable: the next wake-up or poll reads from the same cursor.
      this.onError(err);
    } finally {
      this.reading = false;
    }
    if (this.again) {
      this.again = false;
      this.wake(undefined);
    }
  }

  /** Updates the catalog copy with the event and publishes it. */
  private apply(r: StoredEvent): void {
    const kind = flavorKindOf(r.wire);
    if (kind === 'added' || kind === 'refreshed') {
      // An event this instance wrote carries the entry it wrote; another's is parsed once.
      const entry = this.entries.ofEvent(r);
      const facts = entry.facts;
      const prev = this.catalog.put(entry);
      const base = { seq: r.seq, at: r.at, flavorId: r.flavorId, wire: r.wire, facts };
      // The copy held the flavor as the refresh found it (new rows keep no `prev`).
      this.bus.publish(
        kind === 'added'
          ? ({ kind, ...base } satisfies DomainEvent)
          : ({ kind, ...base, prevFacts: prev ? prev.facts : facts } satisfies DomainEvent),
      );
      return;
    }
    // A withdrawal's facts are parsed only if a selector asks for them; a confirmation is small.
    const event = fromRecord(r);
    if (event.kind === 'withdrawn') this.catalog.drop(r.flavorId);
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
