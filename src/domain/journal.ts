/**
 * The journal turns a change of the market into a durable store commit and then into
 * published events: it stamps each event with the next seq (so seq order is call order),
 * commits the change with its events, and publishes them only once the commit is durable.
 * A failed commit is fatal: the in-memory state has moved ahead of the store, so the process
 * must stop and rebuild from the store (fail-stop), never answer as if it succeeded.
 */
import type { Clock } from '../clock.js';
import type { Change, Store } from '../store/store.js';
import type { EventBus } from './event-bus.js';
import { stamp, type EventDraft } from './events.js';

export type FatalHandler = (err: unknown) => void;

export class Journal {
  private seq: number;
  private storePrunedThrough: number;

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly clock: Clock,
    private readonly onFatal: FatalHandler,
  ) {
    this.seq = bus.lastSeq;
    this.storePrunedThrough = bus.prunedThrough;
  }

  /** Commits the change with the drafted events; resolves once durable and published. */
  async write(change: Change, drafts: EventDraft[] = []): Promise<void> {
    const at = this.clock.now();
    const stamped = drafts.map((d) => stamp(d, ++this.seq, at));
    if (stamped.length > 0)
      change.events = [...(change.events ?? []), ...stamped.map((s) => s.record)];
    const pruned = this.bus.prunedThrough;
    // Prune the store's copy of the history in batches, not on every write.
    if (pruned - this.storePrunedThrough >= 256) {
      change.pruneEventsThrough = pruned;
      this.storePrunedThrough = pruned;
    }
    try {
      await this.store.commit(change);
    } catch (err) {
      this.onFatal(err);
      throw err;
    }
    for (const s of stamped) this.bus.publish(s.event);
  }
}
