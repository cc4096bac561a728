/**
 * RESERVE_FLAVOR and PURCHASE_FLAVOR: one lock per flavor (for a pooled flavor, its free
 * capacity), a first-come-first-served line of waiting buyers, a Time To Purchase on each
 * hold, and purchases whose contract, sold capacity and end of hold are one durable commit
 * made before the buyer is answered.
 *
 * All bookkeeping happens synchronously in memory (so two requests can never both take the
 * last unit); each change is then committed through the journal, and the buyer is answered
 * only once it is durable.
 */
import type { Clock } from '../clock.js';
import { HubError } from '../errors.js';
import type { Change, Store, StoredTransaction } from '../store/store.js';
import type { Configuration, NodeIdentity, Reservation, Transaction } from '../types/wire.js';
import { fits, needFor, possible, sale, soldJson, unsold, type Need } from './capacity.js';
import type { Catalog } from './catalog.js';
import { signContractJson, type ContractSigner } from './contract-signer.js';
import type { DeadlineQueue } from './deadlines.js';
import type { FlavorEntry } from './flavor-entry.js';
import {
  buyerOf,
  holdKey,
  makeContract,
  newHoldRow,
  newTransaction,
  reservedError,
  reservedJson,
  visible,
} from './holds.js';
import { newTransactionId } from './ids.js';
import type { Journal } from './journal.js';
import type {
  PurchaseResult,
  ReserveOptions,
  Reservations,
  TransactionView,
} from './market-ops.js';
import { nodeId, type Principal } from './principal.js';

export interface ReservationOptions {
  /** Time To Purchase, ms. */
  ttpMs: number;
  /** How long a contract runs after its purchase, ms. */
  contractMs: number;
  /** Signs every contract before it is stored (§12). */
  signer: ContractSigner;
}

interface Hold {
  readonly tx: Transaction;
  readonly buyerId: string;
  readonly need: Need;
  readonly key: string;
  /** Its stored row as reserved; every later status reuses the JSON. */
  readonly stored: StoredTransaction;
  /** The sale in progress, resolving to the Contract's JSON once durable. */
  purchasing?: Promise<string>;
  /**
   * Set when the hold has ended (its TTP ran out, or it was cancelled) and its final status is
   * being written: until that write is durable the hold stays findable with that status, so
   * no read falls through to the store's not yet updated 'reserved' row.
   */
  ending?: { status: 'expired' | 'cancelled'; durable: Promise<void> };
}

interface Waiter {
  readonly buyer: NodeIdentity;
  readonly flavorId: string;
  readonly need: Need;
  readonly configuration: Configuration | undefined;
  readonly key: string;
  readonly deadline: string;
  readonly dialect: 'fluidos' | undefined;
  readonly promise: Promise<Transaction>;
  resolve(tx: Transaction): void;
  reject(err: HubError): void;
  onAbort?: () => void;
  signal?: AbortSignal;
}

interface Pool {
  holds: Hold[];
  waiters: Waiter[];
}

const HOLD = 'hold:';
let waiterCounter = 0;

export class ReservationEngine implements Reservations {
  private readonly pools = new Map<string, Pool>();
  private readonly holds = new Map<string, Hold>();
  /** buyer|flavor|configuration → the live hold or waiting request, for idempotent retries. */
  private readonly byKey = new Map<string, Hold | Waiter>();
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly store: Store,
    private readonly journal: Journal,
    private readonly catalog: Catalog,
    private readonly deadlines: DeadlineQueue,
    private readonly options: ReservationOptions,
  ) {
    catalog.onRemoval((flavorId, change) => this.endFlavor(flavorId, change));
  }

  /** Restores live holds after a restart; those whose TTP ran out meanwhile are expired. */
  async load(open: StoredTransaction[]): Promise<void> {
    const ended: StoredTransaction[] = [];
    const now = this.clock.now();
    for (const st of open) {
      const tx = { ...(JSON.parse(st.json) as Transaction), Status: 'reserved' as const };
      const entry = this.catalog.get(st.flavorId);
      let need: Need | undefined;
      try {
        need = entry && needFor(entry, tx.Configuration);
      } catch {
        need = undefined;
      }
      if (!entry || !need || st.expiresAt <= now) {
        ended.push({ ...st, status: entry && need ? 'expired' : 'cancelled' });
        continue;
      }
      this.addHold({
        tx,
        buyerId: st.buyerId,
        need,
        key: holdKey(st.buyerId, st.flavorId, tx.Configuration),
        stored: { ...st, status: 'reserved' },
      });
    }
    if (ended.length > 0) await this.journal.write({ transactions: ended });
  }

  async reserve(
    principal: Principal,
    body: Reservation,
    opts: ReserveOptions = {},
  ): Promise<Transaction> {
    if (this.closed) throw new HubError('UNAVAILABLE');
    const buyer = buyerOf(principal, body);
    const entry = this.onOffer(body.FlavorID);
    const need = needFor(entry, body.Configuration);
    const key = holdKey(buyer.NodeID, body.FlavorID, body.Configuration);
    const existing = this.byKey.get(key);
    if (existing) return 'tx' in existing ? existing.tx : existing.promise;

    const pool = this.pool(body.FlavorID);
    if (
      pool.waiters.length === 0 &&
      fits(
        need,
        unsold(entry),
        pool.holds.map((h) => h.need),
      )
    ) {
      return this.grant(buyer, body.FlavorID, need, body.Configuration, key, opts.dialect);
    }
    const waitMs = opts.waitMs ?? this.options.ttpMs;
    if (waitMs <= 0) throw this.reserved(pool);
    return this.enqueue(
      pool,
      buyer,
      body.FlavorID,
      need,
      body.Configuration,
      key,
      waitMs,
      opts.signal?.(),
      opts.dialect,
    );
  }

  transactionJson(tx: Transaction): string {
    const hold = this.holds.get(tx.TransactionID);
    // A live hold's row holds the Transaction's JSON but for its Status.
    return hold?.tx === tx ? reservedJson(hold.stored.json) : JSON.stringify(tx);
  }

  async transaction(principal: Principal, id: string): Promise<Transaction> {
    return (await this.transactionView(principal, id)).tx;
  }

  /** The transaction and the dialect it was reserved in (§13). */
  async transactionView(principal: Principal, id: string): Promise<TransactionView> {
    const hold = this.holds.get(id);
    if (hold && visible(principal, hold.buyerId)) {
      const tx = hold.ending ? { ...hold.tx, Status: hold.ending.status } : hold.tx;
      return withDialect(tx, hold.stored.dialect);
    }
    const st = await this.store.transaction(id);
    if (!st || !visible(principal, st.buyerId)) throw new HubError('TRANSACTION_NOT_FOUND');
    return withDialect({ ...(JSON.parse(st.json) as Transaction), Status: st.status }, st.dialect);
  }

  async cancel(principal: Principal, id: string): Promise<void> {
    const hold = this.holds.get(id);
    if (hold && visible(principal, hold.buyerId)) {
      if (hold.purchasing)
        throw new HubError('TRANSACTION_EXPIRED', 'The transaction is being purchased');
      if (hold.ending) {
        await hold.ending.durable;
        if (hold.ending.status === 'cancelled') return;
        throw new HubError(
          'TRANSACTION_EXPIRED',
          `The transaction is already ${hold.ending.status}`,
        );
      }
      await this.endHold(hold, 'cancelled');
      return;
    }
    const st = await this.store.transaction(id);
    if (!st || !visible(principal, st.buyerId)) throw new HubError('TRANSACTION_NOT_FOUND');
    if (st.status === 'cancelled') return;
    throw new HubError('TRANSACTION_EXPIRED', `The transaction is already ${st.status}`);
  }

  async purchase(principal: Principal, id: string): Promise<PurchaseResult> {
    const hold = this.holds.get(id);
    if (hold && hold.buyerId === nodeId(principal)) {
      const dialect = hold.stored.dialect ? { dialect: hold.stored.dialect } : {};
      if (hold.purchasing)
        return { contractJson: await hold.purchasing, replayed: true, ...dialect };
      if (hold.ending) {
        await hold.ending.durable;
        throw new HubError(
          'TRANSACTION_EXPIRED',
          hold.ending.status === 'expired'
            ? 'The Time To Purchase ran out'
            : 'The transaction was cancelled',
        );
      }
      if (this.clock.now() >= hold.stored.expiresAt) {
        await this.endHold(hold, 'expired');
        throw new HubError('TRANSACTION_EXPIRED', 'The Time To Purchase ran out');
      }
      const entry = this.catalog.get(hold.tx.FlavorID);
      if (!entry) {
        await this.endHold(hold, 'cancelled');
        throw new HubError('TRANSACTION_EXPIRED', 'The flavor is no longer on offer');
      }
      hold.purchasing = this.sell(hold, entry);
      return { contractJson: await hold.purchasing, replayed: false, ...dialect };
    }
    const st = await this.store.transaction(id);
    if (!st || st.buyerId !== nodeId(principal)) throw new HubError('TRANSACTION_NOT_FOUND');
    if (st.status === 'purchased') {
      const c = await this.store.contractByTransaction(id);
      if (c)
        return {
          contractJson: c.json,
          replayed: true,
          ...(st.dialect ? { dialect: st.dialect } : {}),
        };
    }
    throw new HubError('TRANSACTION_EXPIRED', `The transaction is ${st.status}`);
  }

  /** Answers every waiting reserver (503) and stops every TTP deadline; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pool of this.pools.values()) {
      for (const w of pool.waiters)
        this.finishWaiter(
          w,
          new HubError('UNAVAILABLE', 'The hub is shutting down', { 'Retry-After': '1' }),
        );
      pool.waiters = [];
    }
    for (const id of this.holds.keys()) this.deadlines.cancel(HOLD + id);
  }

  /** Live holds and waiting requests, for tests and metrics. */
  stats(): { holds: number; waiters: number } {
    let holds = 0;
    let waiters = 0;
    for (const p of this.pools.values()) {
      holds += p.holds.length;
      waiters += p.waiters.length;
    }
    return { holds, waiters };
  }

  private onOffer(flavorId: string): FlavorEntry {
    const entry = this.catalog.get(flavorId);
    if (!entry || !entry.flavor.availability)
      throw new HubError('FLAVOR_NOT_FOUND', `No flavor ${flavorId} on offer`);
    return entry;
  }

  private pool(flavorId: string): Pool {
    let pool = this.pools.get(flavorId);
    if (!pool) {
      pool = { holds: [], waiters: [] };
      this.pools.set(flavorId, pool);
    }
    return pool;
  }

  private dropPoolIfIdle(flavorId: string): void {
    const pool = this.pools.get(flavorId);
    if (pool && pool.holds.length === 0 && pool.waiters.length === 0) this.pools.delete(flavorId);
  }

  private reserved(pool: Pool): HubError {
    return reservedError(
      this.clock.now(),
      pool.holds.map((h) => h.stored.expiresAt),
    );
  }

  private addHold(hold: Hold): void {
    this.pool(hold.tx.FlavorID).holds.push(hold);
    this.holds.set(hold.tx.TransactionID, hold);
    this.byKey.set(hold.key, hold);
    this.deadlines.schedule(HOLD + hold.tx.TransactionID, hold.stored.expiresAt, () => {
      if (this.holds.get(hold.tx.TransactionID) === hold && !hold.purchasing && !hold.ending) {
        this.endHold(hold, 'expired').catch(() => {});
      }
    });
  }

  private removeHold(hold: Hold, keepFindable = false): void {
    const flavorId = hold.tx.FlavorID;
    const pool = this.pools.get(flavorId);
    if (pool) pool.holds = pool.holds.filter((h) => h !== hold);
    if (!keepFindable) this.holds.delete(hold.tx.TransactionID);
    if (this.byKey.get(hold.key) === hold) this.byKey.delete(hold.key);
    this.deadlines.cancel(HOLD + hold.tx.TransactionID);
  }

  private async grant(
    buyer: NodeIdentity,
    flavorId: string,
    need: Need,
    configuration: Configuration | undefined,
    key: string,
    dialect: 'fluidos' | undefined,
  ): Promise<Transaction> {
    const now = this.clock.now();
    const expiresAt = now + this.options.ttpMs;
    const tx = newTransaction(newTransactionId(now), buyer, flavorId, expiresAt, configuration);
    // Serialized once, for the row and (with its Status) the answer.
    const stored = newHoldRow(tx, key, buyer.NodeID, expiresAt, dialect);
    this.addHold({ tx, buyerId: buyer.NodeID, need, key, stored });
    // A new row, no events: it need not wait behind sales whose contracts are being signed.
    await this.journal.writeNew({ transactions: [stored] });
    return tx;
  }

  private enqueue(
    pool: Pool,
    buyer: NodeIdentity,
    flavorId: string,
    need: Need,
    configuration: Configuration | undefined,
    key: string,
    waitMs: number,
    signal: AbortSignal | undefined,
    dialect: 'fluidos' | undefined,
  ): Promise<Transaction> {
    let resolve!: (tx: Transaction) => void;
    let reject!: (err: HubError) => void;
    const promise = new Promise<Transaction>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const waiter: Waiter = {
      buyer,
      flavorId,
      need,
      configuration,
      key,
      deadline: `wait:${++waiterCounter}`,
      dialect,
      promise,
      resolve,
      reject,
    };
    pool.waiters.push(waiter);
    this.byKey.set(key, waiter);
    this.deadlines.schedule(waiter.deadline, this.clock.now() + waitMs, () => {
      this.leaveLine(waiter);
      this.finishWaiter(waiter, this.reserved(this.pool(flavorId)));
      this.serve(flavorId);
    });
    if (signal) {
      waiter.signal = signal;
      waiter.onAbort = () => {
        this.leaveLine(waiter);
        this.finishWaiter(waiter, new HubError('FLAVOR_RESERVED', 'The client left the line'));
        this.serve(flavorId);
      };
      if (signal.aborted) waiter.onAbort();
      else signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    // A rejection nobody awaits (the client left) must not crash the process.
    promise.catch(() => {});
    return promise;
  }

  private leaveLine(waiter: Waiter): void {
    const pool = this.pools.get(waiter.flavorId);
    if (pool) pool.waiters = pool.waiters.filter((w) => w !== waiter);
    if (this.byKey.get(waiter.key) === waiter) this.byKey.delete(waiter.key);
    this.deadlines.cancel(waiter.deadline);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  private finishWaiter(waiter: Waiter, outcome: HubError | Promise<Transaction>): void {
    if (this.byKey.get(waiter.key) === waiter) this.byKey.delete(waiter.key);
    if (outcome instanceof HubError) waiter.reject(outcome);
    else outcome.then(waiter.resolve, waiter.reject);
  }

  /** Hands the lock to waiters in arrival order while the head of the line fits. */
  private serve(flavorId: string): void {
    const pool = this.pools.get(flavorId);
    if (!pool || this.closed) return;
    const entry = this.catalog.get(flavorId);
    while (pool.waiters.length > 0) {
      const head = pool.waiters[0] as Waiter;
      if (!entry || !entry.flavor.availability) break;
      if (
        !fits(
          head.need,
          unsold(entry),
          pool.holds.map((h) => h.need),
        )
      )
        break;
      this.leaveLine(head);
      this.finishWaiter(
        head,
        this.grant(head.buyer, flavorId, head.need, head.configuration, head.key, head.dialect),
      );
    }
    this.dropPoolIfIdle(flavorId);
  }

  private async endHold(hold: Hold, status: 'expired' | 'cancelled'): Promise<void> {
    const done = this.beginEnd(hold, status);
    this.serve(hold.tx.FlavorID);
    try {
      await this.journal.write({ transactions: [{ ...hold.stored, status }] });
    } finally {
      done();
    }
  }

  /**
   * Takes an ending hold out of its pool (its capacity is free at once) but keeps it findable
   * with its final status; the returned function forgets it, once that status is durable.
   */
  private beginEnd(hold: Hold, status: 'expired' | 'cancelled'): () => void {
    this.removeHold(hold, true);
    let durable!: () => void;
    hold.ending = { status, durable: new Promise<void>((resolve) => (durable = resolve)) };
    return () => {
      if (this.holds.get(hold.tx.TransactionID) === hold) this.holds.delete(hold.tx.TransactionID);
      durable();
    };
  }

  private async sell(hold: Hold, entry: FlavorEntry): Promise<string> {
    const now = this.clock.now();
    const flavorId = entry.flavor.flavorId;
    // Its capacity leaves the pool now; the hold stays findable (as purchasing) until the
    // sale is durable, so a concurrent retry replays the contract instead of missing it.
    this.removeHold(hold, true);
    const { sold, remainder } = sale(entry, hold.need, hold.tx.Configuration);
    const catalogPart = this.catalog.sold(entry, remainder);
    const owner = entry.flavor.owner;
    const contract = makeContract(hold.tx, sold, owner, now, this.options.contractMs);
    // Signed before it is stored: the stored bytes, signature included, are every answer's.
    // The signature is computed on the signing thread while this turn goes on; the journal
    // holds the change (and every write after it) back until it is ready.
    const signed = signContractJson(contract, this.options.signer, soldJson(entry, sold));
    // Waiters whose need the remainder can no longer meet leave the line now; they hear 404
    // only once the sale is durable.
    const pool = this.pool(flavorId);
    const next = remainder ? this.catalog.get(flavorId) : undefined;
    const left = next ? unsold(next) : undefined;
    const hopeless = pool.waiters.filter((w) => !remainder || !possible(w.need, left));
    for (const w of hopeless) this.leaveLine(w);

    const change: Change = {
      flavors: catalogPart.flavors,
      transactions: [{ ...hold.stored, status: 'purchased' }],
    };
    const ended = remainder ? [] : this.endOtherHolds(flavorId, change);
    const stored = signed.then((json): Change => ({
      ...change,
      contracts: [
        {
          contractId: contract.ContractID,
          transactionId: contract.TransactionID,
          buyerId: hold.buyerId,
          sellerId: owner.nodeId,
          createdAt: now,
          json,
        },
      ],
    }));
    await this.journal.write(stored, [
      ...catalogPart.drafts,
      {
        kind: 'confirmed',
        flavorId,
        contractId: contract.ContractID,
        transactionId: hold.tx.TransactionID,
        buyerId: hold.buyerId,
      },
    ]);
    this.holds.delete(hold.tx.TransactionID);
    for (const done of ended) done();
    for (const w of hopeless)
      this.finishWaiter(w, new HubError('FLAVOR_NOT_FOUND', 'The flavor was sold'));
    this.serve(flavorId);
    return signed;
  }

  /** A flavor left the catalog (withdrawn or expired): its holds end, its line hears 404. */
  private endFlavor(flavorId: string, change: Change): () => void {
    const ended = this.endOtherHolds(flavorId, change);
    const pool = this.pools.get(flavorId);
    const waiters = pool ? [...pool.waiters] : [];
    for (const w of waiters) this.leaveLine(w);
    this.pools.delete(flavorId);
    return () => {
      for (const done of ended) done();
      for (const w of waiters)
        this.finishWaiter(w, new HubError('FLAVOR_NOT_FOUND', 'The flavor was withdrawn'));
    };
  }

  /** Cancels the flavor's other holds in `change`; call what it returns once that is durable. */
  private endOtherHolds(flavorId: string, change: Change): Array<() => void> {
    const pool = this.pools.get(flavorId);
    const ended: Array<() => void> = [];
    for (const hold of pool ? [...pool.holds] : []) {
      if (hold.purchasing) continue;
      ended.push(this.beginEnd(hold, 'cancelled'));
      (change.transactions ??= []).push({ ...hold.stored, status: 'cancelled' });
    }
    return ended;
  }
}

function withDialect(tx: Transaction, dialect: 'fluidos' | undefined): TransactionView {
  return dialect ? { tx, dialect } : { tx };
}
