/**
 * RESERVE_FLAVOR and PURCHASE_FLAVOR for a shared market (§9): every decision — take the
 * hold, join the line, sell, end a hold, hand the lock on — is made under the flavor's row
 * lock over what the database holds (locked-flavor.ts), never over this instance's memory.
 *
 * What this instance keeps is only who of its own clients waits: a waiting request's place is
 * a row in the flavor's line, which any instance may settle (grant it a hold, or tell it 404)
 * when it frees or sells capacity; the store then wakes this instance, which collects the
 * outcome and answers. A waiter that gives up (its Prefer: wait ran out, or its client left)
 * leaves the line under the same lock; one whose instance dies is taken out by the leader.
 * A hold's TTP ends at a timer on the instance that learned of it, or at the leader's sweep
 * for holds whose instance is gone — exactly once either way, since the end is written under
 * the lock only while the hold is still reserved.
 */
import type { Clock } from '../clock.js';
import { HubError } from '../errors.js';
import type { SharedStore, SharedTransaction } from '../store/shared-store.js';
import type { Reservation, Transaction } from '../types/wire.js';
import { needFor } from './capacity.js';
import { DeadlineQueue } from './deadlines.js';
import { buyerOf, holdKey, reservedError, visible } from './holds.js';
import { newWaiterId } from './ids.js';
import { LockedLine } from './locked-flavor.js';
import { parseTx } from './shared-entries.js';
import type { ContractSigner } from './contract-signer.js';
import type {
  PurchaseResult,
  ReserveOptions,
  Reservations,
  TransactionView,
} from './market-ops.js';
import { nodeId, type Principal } from './principal.js';
import type { SharedFeed } from './shared-feed.js';

export interface SharedReservationOptions {
  ttpMs: number;
  contractMs: number;
  /** Signs every contract before it is stored (§12). */
  signer: ContractSigner;
}

interface LocalWaiter {
  readonly waiterId: string;
  readonly flavorId: string;
  readonly key: string;
  readonly promise: Promise<Transaction>;
  resolve(tx: Transaction): void;
  reject(err: HubError): void;
  done: boolean;
  detach?: () => void;
}

type Reserved = { tx: Transaction } | { waiting: string };
type Bought =
  | { contractJson: string; dialect?: 'fluidos' }
  | { replay: true; dialect?: 'fluidos' }
  | { expired: string };

/** How often waiters' outcomes are collected without a wake-up, while any wait. */
const COLLECT_POLL_MS = 1000;

export class SharedReservations implements Reservations {
  private readonly waiting = new Map<string, LocalWaiter>();
  private readonly byKey = new Map<string, LocalWaiter>();
  /** Waiters that gave up while the store was unreachable: taken out of the line later. */
  private readonly abandoned = new Map<string, string>();
  private readonly deadlines: DeadlineQueue;
  /** Holds this instance times (its own grants and its waiters'). */
  private readonly watched = new Set<string>();
  private polling = false;
  private collecting = false;
  private collectAgain = false;
  private closed = false;

  constructor(
    private readonly store: SharedStore,
    private readonly feed: SharedFeed,
    private readonly clock: Clock,
    private readonly options: SharedReservationOptions,
  ) {
    this.deadlines = new DeadlineQueue(clock);
  }

  async reserve(
    principal: Principal,
    body: Reservation,
    opts: ReserveOptions = {},
  ): Promise<Transaction> {
    if (this.closed) throw new HubError('UNAVAILABLE', 'The hub is shutting down');
    const buyer = buyerOf(principal, body);
    const flavorId = body.FlavorID;
    const config = body.Configuration;
    const key = holdKey(buyer.NodeID, flavorId, config);
    const mine = this.byKey.get(key);
    if (mine && !mine.done) return mine.promise;
    const waitMs = opts.waitMs ?? this.options.ttpMs;
    const waiterId = newWaiterId(this.clock.now());
    const now = this.clock.now();
    const { result } = await this.store.atomically<Reserved>({ flavorId }, (locked) => {
      const line = new LockedLine(locked, now, this.options.ttpMs, this.feed.entries);
      const entry = line.onOffer();
      if (!entry) throw new HubError('FLAVOR_NOT_FOUND', `No flavor ${flavorId} on offer`);
      const need = needFor(entry, config);
      const same = line.holdFor(key);
      if (same) return line.outcome({ tx: same });
      if (line.canTake(need))
        return line.outcome({ tx: line.grant(buyer, config, need, key, opts.dialect) });
      if (waitMs <= 0) throw reservedError(now, line.holdEnds());
      line.enqueue({
        waiterId,
        flavorId,
        instanceId: this.store.instanceId,
        holdKey: key,
        buyer: JSON.stringify(buyer),
        configuration: config ? JSON.stringify(config) : null,
        outcome: null,
        transactionId: null,
        ...(opts.dialect ? { dialect: opts.dialect } : {}),
      });
      return line.outcome({ waiting: waiterId });
    });
    if ('tx' in result) {
      this.watch(result.tx);
      return result.tx;
    }
    return this.wait(waiterId, flavorId, key, waitMs, opts.signal?.());
  }

  async transaction(principal: Principal, id: string): Promise<Transaction> {
    return (await this.transactionView(principal, id)).tx;
  }

  transactionJson(tx: Transaction): string {
    return this.feed.entries.txJson(tx);
  }

  async transactionView(principal: Principal, id: string): Promise<TransactionView> {
    const row = await this.store.transaction(id);
    if (!row || !visible(principal, row.buyerId)) throw new HubError('TRANSACTION_NOT_FOUND');
    const tx = parseTx(row);
    // A hold past its TTP has ended, whether or not its end has been written yet.
    if (tx.Status === 'reserved' && row.expiresAt <= this.clock.now()) tx.Status = 'expired';
    return row.dialect ? { tx, dialect: row.dialect } : { tx };
  }

  async cancel(principal: Principal, id: string): Promise<void> {
    const now = this.clock.now();
    const { result } = await this.store.atomically({ transactionId: id }, (locked) => {
      const row = locked.transaction;
      if (!row || !visible(principal, row.buyerId)) throw new HubError('TRANSACTION_NOT_FOUND');
      const line = new LockedLine(locked, now, this.options.ttpMs, this.feed.entries);
      const status = line.expired.has(id) ? 'expired' : row.status;
      if (status === 'cancelled') return line.outcome(undefined);
      if (status !== 'reserved')
        return line.outcome(`The transaction is already ${status}` as string | undefined);
      line.endHold(id, 'cancelled');
      line.serve();
      return line.outcome(undefined);
    });
    this.unwatch(id);
    if (result !== undefined) throw new HubError('TRANSACTION_EXPIRED', result);
  }

  async purchase(principal: Principal, id: string): Promise<PurchaseResult> {
    const now = this.clock.now();
    const { result, lastSeq } = await this.store.atomically<Bought>(
      { transactionId: id },
      (locked) => {
        const row = locked.transaction;
        if (!row || row.buyerId !== nodeId(principal)) throw new HubError('TRANSACTION_NOT_FOUND');
        const dialect = row.dialect ? { dialect: row.dialect } : {};
        if (row.status === 'purchased') return { result: { replay: true, ...dialect } };
        if (row.status !== 'reserved')
          throw new HubError('TRANSACTION_EXPIRED', `The transaction is ${row.status}`);
        const line = new LockedLine(locked, now, this.options.ttpMs, this.feed.entries);
        if (line.expired.has(id)) return line.outcome({ expired: 'The Time To Purchase ran out' });
        const hold = line.hold(id);
        if (!hold || !line.onOffer()) {
          line.endHold(id, 'cancelled');
          return line.outcome({ expired: 'The flavor is no longer on offer' });
        }
        return line.outcome({
          contractJson: line.sell(hold, this.options.contractMs, this.options.signer),
          ...dialect,
        });
      },
    );
    if ('replay' in result) {
      const c = await this.store.contractByTransaction(id);
      if (!c) throw new HubError('TRANSACTION_EXPIRED', 'The transaction is purchased');
      return {
        contractJson: c.json,
        replayed: true,
        ...(result.dialect ? { dialect: result.dialect } : {}),
      };
    }
    if ('expired' in result) throw new HubError('TRANSACTION_EXPIRED', result.expired);
    this.unwatch(id);
    await this.feed.reached(lastSeq);
    return {
      contractJson: result.contractJson,
      replayed: false,
      ...(result.dialect ? { dialect: result.dialect } : {}),
    };
  }

  /** Ends the holds of the flavor that are past their TTP, and serves its line. */
  async expireDue(flavorId: string): Promise<void> {
    const now = this.clock.now();
    await this.store.atomically({ flavorId }, (locked) =>
      new LockedLine(locked, now, this.options.ttpMs, this.feed.entries).outcome(undefined),
    );
  }

  /** Takes a waiter whose instance is gone out of the line, and serves the line. */
  async dropWaiter(flavorId: string, waiterId: string): Promise<void> {
    const now = this.clock.now();
    await this.store.atomically({ flavorId }, (locked) => {
      const line = new LockedLine(locked, now, this.options.ttpMs, this.feed.entries);
      const row = locked.waiters.find((w) => w.waiterId === waiterId);
      if (row && row.outcome === null) {
        line.removeWaiter(waiterId);
        line.serve();
      }
      return line.outcome(undefined);
    });
  }

  /** Collects the outcomes other instances (or this one) settled for this instance's waiters. */
  collect(): void {
    if (this.closed) return;
    if (this.collecting) {
      this.collectAgain = true;
      return;
    }
    this.collecting = true;
    void (async () => {
      try {
        do {
          this.collectAgain = false;
          for (const row of await this.store.collectSettled()) {
            const w = this.waiting.get(row.waiterId);
            if (!w || w.done) {
              // Nobody to answer: a hold granted to it would only block the line until its TTP.
              if (row.outcome === 'granted' && row.transactionId)
                await this.endOrphanHold(row.flavorId, row.transactionId);
              continue;
            }
            if (row.outcome === 'granted' && row.transactionId) {
              const tx = await this.store.transaction(row.transactionId);
              if (tx) {
                this.finish(w, parseTx(tx));
                this.watch(parseTx(tx), tx);
                continue;
              }
            }
            this.finish(w, new HubError('FLAVOR_NOT_FOUND', 'The flavor is no longer on offer'));
          }
          for (const [waiterId, flavorId] of [...this.abandoned]) {
            await this.dropWaiter(flavorId, waiterId);
            this.abandoned.delete(waiterId);
          }
        } while (this.collectAgain && !this.closed);
      } catch {
        // The store is unreachable: the next wake-up or poll collects again.
      } finally {
        this.collecting = false;
      }
    })();
  }

  stats(): { holds: number; waiters: number } {
    return { holds: this.watched.size, waiters: this.waiting.size };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.waiting.values()]) {
      this.finish(
        w,
        new HubError('UNAVAILABLE', 'The hub is shutting down', { 'Retry-After': '1' }),
      );
    }
    this.deadlines.close();
  }

  private wait(
    waiterId: string,
    flavorId: string,
    key: string,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Transaction> {
    let resolve!: (tx: Transaction) => void;
    let reject!: (err: HubError) => void;
    const promise = new Promise<Transaction>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A rejection nobody awaits (the client left) must not crash the process.
    promise.catch(() => {});
    const w: LocalWaiter = { waiterId, flavorId, key, promise, resolve, reject, done: false };
    this.waiting.set(waiterId, w);
    this.byKey.set(key, w);
    this.deadlines.schedule(
      waitDeadline(waiterId),
      this.clock.now() + waitMs,
      () => void this.giveUp(w, 'timeout'),
    );
    if (signal) {
      const onAbort = (): void => void this.giveUp(w, 'abort');
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        w.detach = () => signal.removeEventListener('abort', onAbort);
      }
    }
    this.pollWhileWaiting();
    return promise;
  }

  /**
   * The waiter stops waiting: it leaves the line under the flavor's lock. If it was granted the
   * hold meanwhile, a timeout still answers with it; a client that left has it cancelled.
   */
  private async giveUp(w: LocalWaiter, why: 'timeout' | 'abort'): Promise<void> {
    if (w.done) return;
    const now = this.clock.now();
    try {
      const { result } = await this.store.atomically<string | undefined>(
        { flavorId: w.flavorId },
        (locked) => {
          const line = new LockedLine(locked, now, this.options.ttpMs, this.feed.entries);
          const row = locked.waiters.find((x) => x.waiterId === w.waiterId);
          if (!row) return line.outcome(undefined);
          line.removeWaiter(w.waiterId);
          if (row.outcome === 'granted' && row.transactionId && why === 'timeout')
            return line.outcome(row.transactionId);
          if (row.outcome === 'granted' && row.transactionId)
            line.endHold(row.transactionId, 'cancelled');
          line.serve();
          return line.outcome(undefined);
        },
      );
      if (w.done) return;
      if (result) {
        const tx = await this.store.transaction(result);
        if (tx) {
          this.finish(w, parseTx(tx));
          this.watch(parseTx(tx), tx);
          return;
        }
      }
      this.finish(
        w,
        why === 'abort'
          ? new HubError('FLAVOR_RESERVED', 'The client left the line')
          : reservedError(now, []),
      );
    } catch (err) {
      this.abandoned.set(w.waiterId, w.flavorId);
      this.finish(w, err instanceof HubError ? err : new HubError('INTERNAL'));
    }
  }

  private finish(w: LocalWaiter, outcome: Transaction | HubError): void {
    if (w.done) return;
    w.done = true;
    this.waiting.delete(w.waiterId);
    if (this.byKey.get(w.key) === w) this.byKey.delete(w.key);
    this.deadlines.cancel(waitDeadline(w.waiterId));
    w.detach?.();
    if (outcome instanceof HubError) w.reject(outcome);
    else w.resolve(outcome);
  }

  /** The hold's TTP ends at a timer here (the leader's sweep covers instances that died). */
  private watch(tx: Transaction, row?: SharedTransaction): void {
    const id = tx.TransactionID;
    const at = row ? row.expiresAt : Date.parse(tx.ExpirationTime);
    this.watched.add(id);
    this.deadlines.schedule(holdDeadline(id), at, () => {
      this.watched.delete(id);
      this.expireDue(tx.FlavorID).catch(() => {});
    });
  }

  private unwatch(id: string): void {
    this.watched.delete(id);
    this.deadlines.cancel(holdDeadline(id));
  }

  private async endOrphanHold(flavorId: string, transactionId: string): Promise<void> {
    const now = this.clock.now();
    await this.store.atomically({ flavorId }, (locked) => {
      const line = new LockedLine(locked, now, this.options.ttpMs, this.feed.entries);
      line.endHold(transactionId, 'cancelled');
      line.serve();
      return line.outcome(undefined);
    });
  }

  private pollWhileWaiting(): void {
    if (this.polling) return;
    this.polling = true;
    this.deadlines.schedule(POLL_KEY, this.clock.now() + COLLECT_POLL_MS, () => {
      this.polling = false;
      this.collect();
      if (this.waiting.size > 0 || this.abandoned.size > 0) this.pollWhileWaiting();
    });
  }
}

const POLL_KEY = 'collect';
const holdDeadline = (id: string): string => `hold:${id}`;
const waitDeadline = (id: string): string => `wait:${id}`;
