/**
 * The store of a market that several hub processes serve together (store-postgres.ts). The
 * authoritative state — flavors and what is left of them, holds, the waiting lines, contracts
 * and the event history — lives in the database; an instance keeps only a copy of the
 * catalog, fed by the event history, for reading.
 *
 * Promises every implementation keeps, across processes (test/store/ and
 * test/integration/scale-out.test.ts check them):
 * - Decided in the database: `atomically` runs its function with the flavor's row locked
 *   (FOR UPDATE), over the flavor's holds and waiting line as committed, and commits the
 *   change it returns — rows, events, line — as one transaction, or nothing (a throw rolls
 *   back). Every change to a flavor, its holds or its line is made under that lock, so two
 *   instances can never both take the last unit, and a hold's end is written exactly once.
 * - Seq: the events of a change get their seqs in the transaction that writes them, from one
 *   counter row updated just before COMMIT, so seq order is commit order (a reader of
 *   `seq > cursor` never skips an event that commits late), and for one flavor it is the
 *   order of its changes.
 * - Feed: `eventsAfter(seq)` returns committed events in seq order; `listen` wakes the
 *   instance on every commit that wrote events (carrying the newest seq) or settled one of
 *   its waiters — a wake-up carries nothing that cannot be re-read, and a fallback poll
 *   covers a lost one.
 * - Line: the waiters of a flavor keep their arrival order (`linePos`); a settled waiter stays
 *   until its instance collects it (`collectSettled`).
 * - Faults: a call that cannot reach the database rejects with UNAVAILABLE and has written
 *   nothing it reports as done; `healthy()` is false until the connection is back.
 */
import type {
  StoreBase,
  StoredContract,
  StoredEvent,
  StoredFlavor,
  StoredTransaction,
  UnnumberedEvent,
} from './store.js';

/** A buyer waiting for a flavor, in the line every instance shares. */
export interface StoredWaiter {
  waiterId: string;
  flavorId: string;
  /** The instance whose client waits; it answers the client once the waiter is settled. */
  instanceId: string;
  /** buyer|flavor|configuration, as for holds: a retry finds the same request. */
  holdKey: string;
  /** The buyer's NodeIdentity JSON. */
  buyer: string;
  /** The Configuration JSON, or null for the whole flavor. */
  configuration: string | null;
  /** Arrival order within the flavor's line. */
  linePos: number;
  /** Unset while waiting; 'granted' with its transaction, or 'not_found' once it never can be. */
  outcome: 'granted' | 'not_found' | null;
  transactionId: string | null;
  /** The dialect its request spoke (§13): the hold it is granted is answered in it. */
  dialect?: 'fluidos';
}

/** A hold's row; `holdKey` lets a retried reservation find it again. */
export interface SharedTransaction extends StoredTransaction {
  holdKey?: string;
}

/** A flavor's row; `dueAt` is when the catalog scheduler must renew or retract it. */
export interface SharedFlavor extends StoredFlavor {
  dueAt?: number;
}

/** What `atomically` reads under the flavor's lock. */
export interface LockedFlavor {
  /** The flavor's row (any status), or undefined when there is none. */
  flavor: SharedFlavor | undefined;
  /** Its holds still marked reserved (some may be past their TTP). */
  holds: SharedTransaction[];
  /** Its line, in arrival order, settled waiters included. */
  waiters: StoredWaiter[];
  /** The transaction asked for by id, if any. */
  transaction: SharedTransaction | undefined;
}

export interface SharedChange {
  flavors?: SharedFlavor[];
  transactions?: SharedTransaction[];
  contracts?: StoredContract[];
  addWaiters?: Array<Omit<StoredWaiter, 'linePos'>>;
  settleWaiters?: Array<{
    waiterId: string;
    outcome: 'granted' | 'not_found';
    transactionId?: string;
  }>;
  removeWaiters?: string[];
  /** The events, numbered by the store as it writes them (the seqs are its counter's). */
  events?: UnnumberedEvent[];
  /** Drops retained events with seq ≤ this. */
  pruneEventsThrough?: number;
}

export interface Outcome<T> {
  change?: SharedChange;
  result: T;
}

export interface Target {
  /** Locks this flavor's row. */
  flavorId?: string;
  /** Reads this transaction too (and, without flavorId, locks its flavor). */
  transactionId?: string;
}

export interface Wakeups {
  /** New events were committed; the newest seq when known. */
  events(newestSeq: number | undefined): void;
  /** A waiter of this instance was settled. */
  line(): void;
  /** The connection to the database came or went. */
  health(up: boolean): void;
  /** This instance became, or stopped being, the leader (the one that sweeps). */
  leader(isLeader: boolean): void;
}

export interface SharedStore extends StoreBase {
  readonly kind: 'postgres';
  /** This process's id in the market (its waiters carry it). */
  readonly instanceId: string;
  /**
   * Runs fn under the target flavor's row lock, commits what it returns; resolves with fn's
   * result and the highest seq written (0 when none). fn must be synchronous and pure apart
   * from its result: it may run again if the database asks for a retry.
   */
  atomically<T>(
    target: Target,
    fn: (locked: LockedFlavor) => Outcome<T>,
  ): Promise<{ result: T; lastSeq: number }>;
  /**
   * Committed events with seq > after, ascending, at most `limit`. Without `prev`: the feed
   * has the flavor before a refresh in its catalog copy (`load` returns it, for the history).
   */
  eventsAfter(after: number, limit: number): Promise<StoredEvent[]>;
  /** Settled waiters of this instance, removed from the line as they are returned. */
  collectSettled(): Promise<StoredWaiter[]>;
  /** Starts the wake-ups, the heartbeat and the leader election; once. */
  listen(wakeups: Wakeups): Promise<void>;
  /** Live flavors whose scheduler deadline has passed (leader's sweep). */
  dueFlavors(now: number, limit: number): Promise<string[]>;
  /** Holds still reserved past their TTP (leader's sweep). */
  dueHolds(now: number, limit: number): Promise<Array<{ transactionId: string; flavorId: string }>>;
  /** Waiters whose instance is gone (its connection closed, or its heartbeat stale). */
  orphanWaiters(now: number): Promise<Array<{ waiterId: string; flavorId: string }>>;
  /** Drops retained events with seq ≤ the given one (leader, by the history bound). */
  pruneEvents(throughSeq: number): Promise<void>;
}
