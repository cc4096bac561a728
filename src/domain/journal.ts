/**
 * The journal turns a change of the market into a durable store commit and then into
 * published events: it stamps each event with the next seq (so seq order is call order),
 * commits the change with its events, and publishes them only once the commit is durable.
 * A failed commit is fatal: the in-memory state has moved ahead of the store, so the process
 * must stop and rebuild from the store (fail-stop), never answer as if it succeeded.
 *
 * A change may still be in the making when it is written (a sale's contract is signed on the
 * signing thread): its seqs are taken at the call all the same, and it, and every write after
 * it, reaches the store only once it is ready, so the store receives changes in seq order —
 * the order their flavor rows must be applied in, and the order events are published in.
 */
import type { Clock } from '../clock.js';
import type { Change, Store } from '../store/store.js';
import type { EventBus } from './event-bus.js';
import { stamp, type EventDraft } from './events.js';

export type FatalHandler = (err: unknown) => void;

export class Journal {
  private seq: number;
  private storePrunedThrough: number;
  /** Writes called and not yet handed to the store (waiting for themselves or an earlier one). */
  private waiting = 0;
  /** Settles once every write called so far has been handed to the store. */
  private handed: Promise<void> = Promise.resolve();

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
  write(change: Change | Promise<Change>, drafts: EventDraft[] = []): Promise<void> {
    const at = this.clock.now();
    const stamped = drafts.map((d) => stamp(d, ++this.seq, at));
    const pruned = this.bus.prunedThrough;
    let prune: number | undefined;
    // Prune the store's copy of the history in batches, not on every write.
    if (pruned - this.storePrunedThrough >= 256) {
      prune = pruned;
      this.storePrunedThrough = pruned;
    }
    const complete = (c: Change): Change => {
      if (stamped.length > 0) c.events = [...(c.events ?? []), ...stamped.map((s) => s.record)];
      if (prune !== undefined) c.pruneEventsThrough = prune;
      return c;
    };
    // Nothing ahead of it: straight to the store, in this turn.
    if (this.waiting === 0 && !(change instanceof Promise))
      return this.commit(complete(change), stamped);
    return this.handOff(change, complete, stamped);
  }

  /**
   * Commits, then publishes from a callback on the store's own promise: the store answers
   * commits in the order it received them, so writes it answers together publish in seq order
   * however many steps each caller's own await takes.
   */
  private commit(change: Change, stamped: Stamped[]): Promise<void> {
    let durable: Promise<void>;
    try {
      durable = this.store.commit(change);
    } catch (err) {
      durable = Promise.reject(err);
    }
    return durable.then(
      () => {
        for (const s of stamped) this.bus.publish(s.event);
      },
      (err: unknown) => this.fatal(err),
    );
  }

  /**
   * Hands the change to the store once it is ready and every earlier write has been handed
   * over; resolves once it is durable and published.
   */
  private handOff(
    change: Promise<Change> | Change,
    complete: (c: Change) => Change,
    stamped: Stamped[],
  ): Promise<void> {
    this.waiting++;
    // The commit's promise travels wrapped: `handed` must settle at the hand-off, not when
    // the commit is durable, so the next write joins this one's group commit.
    const handed = Promise.all([this.handed, change]).then(
      ([, c]) => ({ published: this.commit(complete(c), stamped) }),
      (err: unknown) => this.fatal(err),
    );
    // The next write waits for this hand-off, whether or not it succeeded (a failure is
    // fatal and reported by the write itself).
    const done = () => {
      this.waiting--;
    };
    this.handed = handed.then(done, done);
    return handed.then(({ published }) => published);
  }

  private fatal(err: unknown): never {
    this.onFatal(err);
    throw err;
  }
}

type Stamped = ReturnType<typeof stamp>;
