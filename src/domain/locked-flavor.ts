/**
 * One flavor as the shared market decides on it: read under the flavor's row lock (its row,
 * holds and waiting line as committed), changed by the market's rules (capacity.ts, holds.ts,
 * offers.ts — the same ones the single-process engine applies), and written back as one
 * change with its events.
 *
 * Holds past their TTP end here, whoever locks the flavor first: the lock makes that end,
 * like every other change of the flavor, happen exactly once.
 */
import type {
  Outcome,
  SharedChange,
  SharedTransaction,
  StoredWaiter,
} from '../store/shared-store.js';
import type {
  Configuration,
  ModificationDetail,
  NodeIdentity,
  Transaction,
  WithdrawReason,
} from '../types/wire.js';
import {
  fits,
  needFor,
  possible,
  remainderEntry,
  sale,
  soldJson,
  unsold,
  type Need,
} from './capacity.js';
import { signedContractJson, type ContractSigner } from './contract-signer.js';
import { diffFields, unnumbered, type EventDraft } from './events.js';
import type { FlavorEntry } from './flavor-entry.js';
import { makeContract, newHoldRow, newTransaction } from './holds.js';
import { newTransactionId } from './ids.js';
import { storedFlavor } from './offers.js';
import type { SharedEntries } from './shared-entries.js';
import type { LockedFlavor } from '../store/shared-store.js';

interface LiveHold {
  readonly row: SharedTransaction;
  readonly tx: Transaction;
  readonly need: Need;
}

interface Pending {
  readonly row: StoredWaiter;
  /** Undefined when its Configuration no longer fits the flavor: it can never be served. */
  readonly need: Need | undefined;
}

export class LockedLine {
  /** The flavor's live row as an entry (possibly unavailable or past its expiry). */
  entry: FlavorEntry | undefined;
  private holds: LiveHold[] = [];
  private pending: Pending[] = [];
  private readonly change: SharedChange = {};
  private readonly drafts: EventDraft[] = [];
  /** Transactions this pass ended because their TTP had run out. */
  readonly expired = new Set<string>();

  constructor(
    readonly locked: LockedFlavor,
    readonly now: number,
    private readonly ttpMs: number,
    /** The flavors this instance holds parsed: a row with the same JSON is not parsed again. */
    private readonly entries: SharedEntries,
  ) {
    const f = locked.flavor;
    if (f && f.status === 'live') this.entry = entries.ofRow(f);
    for (const row of locked.holds) {
      if (row.expiresAt <= now) {
        this.expired.add(row.transactionId);
        this.write({ ...row, status: 'expired' });
        continue;
      }
      const tx = entries.txOf(row);
      const need = this.needOf(tx.Configuration);
      if (!need) {
        this.write({ ...row, status: 'cancelled' });
        continue;
      }
      this.holds.push({ row, tx, need });
    }
    for (const row of locked.waiters) {
      if (row.outcome !== null) continue;
      this.pending.push({ row, need: this.needOf(parseConfig(row.configuration)) });
    }
    if (this.expired.size > 0) this.serve();
  }

  /** The entry while it is on offer (live, available, not expired). */
  onOffer(): FlavorEntry | undefined {
    const e = this.entry;
    return e && e.flavor.availability && e.expiresAt > this.now ? e : undefined;
  }

  /** The live hold a retry of the same request finds. */
  holdFor(key: string): Transaction | undefined {
    return this.holds.find((h) => h.row.holdKey === key)?.tx;
  }

  hold(transactionId: string): LiveHold | undefined {
    return this.holds.find((h) => h.row.transactionId === transactionId);
  }

  /** The ends of the live holds, for Retry-After. */
  holdEnds(): number[] {
    return this.holds.map((h) => h.row.expiresAt);
  }

  /** Whether a new request may take the need at once: nobody in line, and it fits. */
  canTake(need: Need): boolean {
    const entry = this.onOffer();
    return (
      entry !== undefined &&
      this.pending.length === 0 &&
      fits(
        need,
        unsold(entry),
        this.holds.map((h) => h.need),
      )
    );
  }

  grant(
    buyer: NodeIdentity,
    configuration: Configuration | undefined,
    need: Need,
    key: string,
    dialect?: 'fluidos',
  ): Transaction {
    const flavorId = (this.entry as FlavorEntry).flavor.flavorId;
    const expiresAt = this.now + this.ttpMs;
    const tx = newTransaction(
      newTransactionId(this.now),
      buyer,
      flavorId,
      expiresAt,
      configuration,
    );
    const row: SharedTransaction = {
      ...newHoldRow(tx, key, buyer.NodeID, expiresAt, dialect),
      holdKey: key,
    };
    this.write(row);
    this.entries.granted(row, tx);
    this.holds.push({ row, tx, need });
    return tx;
  }

  enqueue(waiter: Omit<StoredWaiter, 'linePos'>): void {
    (this.change.addWaiters ??= []).push(waiter);
  }

  /** Takes a waiter (waiting or settled) out of the line. */
  removeWaiter(waiterId: string): void {
    this.pending = this.pending.filter((p) => p.row.waiterId !== waiterId);
    (this.change.removeWaiters ??= []).push(waiterId);
  }

  /** Ends a live hold (cancel, or the end of a sale's other holds); the line moves on. */
  endHold(transactionId: string, status: 'cancelled' | 'expired'): void {
    const hold = this.hold(transactionId);
    if (!hold) return;
    this.holds = this.holds.filter((h) => h !== hold);
    this.write({ ...hold.row, status });
  }

  /** Hands the lock to waiters in arrival order while the head of the line fits. */
  serve(): void {
    const entry = this.onOffer();
    if (!entry) return;
    while (this.pending.length > 0) {
      const head = this.pending[0] as Pending;
      if (!head.need) {
        this.settle(head, 'not_found');
        continue;
      }
      // The same buyer asking again for what it already holds gets that hold.
      const same = this.holdFor(head.row.holdKey);
      if (same) {
        this.settle(head, 'granted', same.TransactionID);
        continue;
      }
      if (
        !fits(
          head.need,
          unsold(entry),
          this.holds.map((h) => h.need),
        )
      )
        break;
      const tx = this.grant(
        JSON.parse(head.row.buyer) as NodeIdentity,
        parseConfig(head.row.configuration),
        head.need,
        head.row.holdKey,
        head.row.dialect,
      );
      this.settle(head, 'granted', tx.TransactionID);
    }
  }

  /**
   * Sells a live hold: the contract, the sold capacity and the hold's end in one change. A
   * whole sale (or a remainder under the minimum) withdraws the flavor, ends its other holds
   * and tells its line 404; a remainder stays on offer and the line is served from it.
   */
  sell(hold: LiveHold, contractMs: number, signer: ContractSigner): string {
    const entry = this.entry as FlavorEntry;
    const { sold, remainder } = sale(entry, hold.need, hold.tx.Configuration);
    const contract = makeContract(hold.tx, sold, entry.flavor.owner, this.now, contractMs);
    // Signed before it is stored: the stored bytes, signature included, are every answer's.
    const contractJson = signedContractJson(contract, signer, soldJson(entry, sold));
    this.holds = this.holds.filter((h) => h !== hold);
    this.write({ ...hold.row, status: 'purchased' });
    (this.change.contracts ??= []).push({
      contractId: contract.ContractID,
      transactionId: contract.TransactionID,
      buyerId: hold.row.buyerId,
      sellerId: entry.flavor.owner.nodeId,
      createdAt: this.now,
      json: contractJson,
    });
    if (remainder) {
      const { next, changes } = remainderEntry(entry, remainder);
      this.replace(next, changes);
      const left = unsold(next);
      for (const p of [...this.pending])
        if (!p.need || !possible(p.need, left)) this.settle(p, 'not_found');
      this.serve();
    } else {
      this.withdraw({ Code: 'sold', Message: 'sold out' });
    }
    this.drafts.push({
      kind: 'confirmed',
      flavorId: entry.flavor.flavorId,
      contractId: contract.ContractID,
      transactionId: contract.TransactionID,
      buyerId: hold.row.buyerId,
    });
    return contractJson;
  }

  /** The flavor changes in place (refresh, renewal, a sale's remainder): REFRESH_FLAVOR. */
  replace(next: FlavorEntry, changes?: ModificationDetail[]): void {
    const prev = this.entry as FlavorEntry;
    this.entry = next;
    this.entries.wrote(next);
    (this.change.flavors ??= []).push(storedFlavor(next));
    this.drafts.push({
      kind: 'refreshed',
      flavor: next,
      prev,
      changes: changes ?? diffFields(prev.flavor, next.flavor),
    });
    this.serve();
  }

  /** A new flavor: FLAVOR_ADDED. */
  add(entry: FlavorEntry): void {
    this.entry = entry;
    this.entries.wrote(entry);
    (this.change.flavors ??= []).push(storedFlavor(entry));
    this.drafts.push({ kind: 'added', flavor: entry });
  }

  /** The flavor leaves the market: its holds end and its line hears 404. */
  withdraw(reason: WithdrawReason): void {
    const entry = this.entry as FlavorEntry;
    for (const h of this.holds) this.write({ ...h.row, status: 'cancelled' });
    this.holds = [];
    for (const p of [...this.pending]) this.settle(p, 'not_found');
    (this.change.flavors ??= []).push(storedFlavor(entry, 'withdrawn'));
    this.drafts.push({ kind: 'withdrawn', flavor: entry, reason });
    this.entry = undefined;
  }

  /** The change to commit, with its events' wire texts around the seqs the store will give. */
  outcome<T>(result: T): Outcome<T> {
    if (this.drafts.length > 0)
      this.change.events = this.drafts.map((d) => unnumbered(d, this.now));
    return { change: this.change, result };
  }

  private settle(p: Pending, outcome: 'granted' | 'not_found', transactionId?: string): void {
    this.pending = this.pending.filter((x) => x !== p);
    (this.change.settleWaiters ??= []).push({
      waiterId: p.row.waiterId,
      outcome,
      ...(transactionId ? { transactionId } : {}),
    });
  }

  private write(row: SharedTransaction): void {
    if (row.status !== 'reserved') this.entries.ended(row.transactionId);
    const list = (this.change.transactions ??= []);
    const i = list.findIndex((t) => t.transactionId === row.transactionId);
    if (i >= 0) list[i] = row;
    else list.push(row);
  }

  private needOf(config: Configuration | undefined): Need | undefined {
    if (!this.entry) return undefined;
    try {
      return needFor(this.entry, config);
    } catch {
      return undefined;
    }
  }
}

function parseConfig(json: string | null): Configuration | undefined {
  return json === null ? undefined : (JSON.parse(json) as Configuration);
}
