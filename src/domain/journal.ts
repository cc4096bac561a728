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
 * the order their flavor rows must be applied in, and the order events are published in. A
 * new hold's row alone (`writeNew`: no events, no row anyone else writes) goes at once.
 */
import type { Clock } from '../clock.js';
import type { Change, Store } from '../store/store.js';
import type { EventBus } from './event-bus.js';
import { stamp, type EventDraft } from './events.js';

export type FatalHandler = (err: unknown) => void;

/** A write waiting for its change to be made, or for an earlier write's. */
interface Queued {
  /** The change, once made. */
  change: Change | undefined;
  readonly complete: (c: Change) => Change;
  readonly stamped: Stamped[];
  resolve(): void;
  reject(err: unknown): void;
}

export class Journal {
  private seq: number;
  private storePrunedThrough: number;
  /**
   * Writes called and not yet handed to the store, in call order: each waits for its own
   * change and for every write ahead of it. A queue, not a chain of promises: a sale's write
   * passed through five of them.
   */
  private readonly queue: Queued[] = [];

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
      if (stamped.length > 0) {
        const records = stamped.map((s) => s.record);
        c.events = c.events ? [...c.events, ...records] : records;
      }
      if (prune !== undefined) c.pruneEventsThrough = prune;
      return c;
    };
    // Nothing ahead of it: straight to the store, in this turn.
    if (this.queue.length === 0 && !(change instanceof Promise))
      return this.commit(complete(change), stamped);
    return new Promise<void>((resolve, reject) => {
      const queued: Queued = { change: undefined, complete, stamped, resolve, reject };
      this.queue.push(queued);
      if (!(change instanceof Promise)) {
        queued.change = change;
        return;
      }
      change.then(
        (c) => {
          queued.change = c;
          this.handOff();
        },
        (err: unknown) => {
          // Fatal; the writes behind it go on to the store all the same.
          this.queue.splice(this.queue.indexOf(queued), 1);
          this.onFatal(err);
          reject(err);
          this.handOff();
        },
      );
    });
  }

  /**
   * Commits a change that carries no events and touches only rows no write before it touches
   * (a new hold's transaction) at once, ahead of writes still waiting for their change to be
   * made: nothing needs it after them, and a reservation made in the same turn as a sale need
   * not wait for the sale's signature to be stored. Resolves once durable.
   */
  writeNew(change: Change): Promise<void> {
    return this.commit(change, []);
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
   * Hands the made changes at the head of the queue to the store, in order, in this turn: a
   * ready write behind a pending one joins its group commit.
   */
  private handOff(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0] as Queued;
      if (head.change === undefined) return;
      this.queue.shift();
      this.commit(head.complete(head.change), head.stamped).then(head.resolve, head.reject);
    }
  }

  private fatal(err: unknown): never {
    this.onFatal(err);
    throw err;
  }
}

type Stamped = ReturnType<typeof stamp>;
