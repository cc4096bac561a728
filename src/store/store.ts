/**
 * The storage interface every backend implements (store-sqlite.ts today). The domain core
 * holds the live state in memory and writes every change through `commit`; the store is
 * the source of truth after a restart.
 *
 * Promises every implementation keeps (test/store/store-suite.ts checks them):
 * - Atomic: one `commit(change)` is all-or-nothing — its flavors, transactions, contracts
 *   and events are written together or not at all.
 * - Durable: when the promise resolves the change survives a crash (fsync'd). Callers answer
 *   a client only after that, so no acknowledged contract is ever lost.
 * - Ordered: commits take effect, and their promises resolve, in call order. Several
 *   commits may share one physical transaction (group commit) without breaking either.
 * - Events: `seq` values are assigned by the caller, strictly growing; the store keeps them
 *   with the change that made them and `load()` returns the retained ones in seq order.
 * - A commit that fails rejects; the caller treats that as fatal (fail-stop), because its
 *   in-memory state has moved ahead of what is stored.
 */

export type FlavorStatus = 'live' | 'withdrawn';
export type TransactionStatus = 'reserved' | 'purchased' | 'expired' | 'cancelled';

export interface StoredFlavor {
  flavorId: string;
  providerId: string;
  status: FlavorStatus;
  /** The Flavor JSON as last offered. */
  json: string;
  expiresAt: number;
  autoRenew: boolean;
  ttlSeconds: number;
}

export interface StoredTransaction {
  transactionId: string;
  flavorId: string;
  /** NodeID of the buyer. */
  buyerId: string;
  status: TransactionStatus;
  expiresAt: number;
  /** The Transaction JSON (without Status). */
  json: string;
}

export interface StoredContract {
  contractId: string;
  transactionId: string;
  buyerId: string;
  sellerId: string;
  createdAt: number;
  /** The Contract JSON. */
  json: string;
}

export interface StoredEvent {
  seq: number;
  at: number;
  flavorId: string;
  /** The ServerMessage JSON. */
  wire: string;
  /** For a refresh: the Flavor JSON before it, so selector matches can be replayed. */
  prev?: string;
  /** For a confirmation: the buyer's NodeID. */
  buyerId?: string;
}

export interface Change {
  flavors?: StoredFlavor[];
  transactions?: StoredTransaction[];
  contracts?: StoredContract[];
  events?: StoredEvent[];
  /** Drops retained events with seq ≤ this (the history bound). */
  pruneEventsThrough?: number;
}

export interface Loaded {
  /** Flavors with status live. */
  flavors: StoredFlavor[];
  /** Transactions with status reserved (live holds, possibly past their TTP). */
  openTransactions: StoredTransaction[];
  /** Retained events, ascending seq. */
  events: StoredEvent[];
  /** The highest seq ever committed (0 for a new store), even if its event was pruned. */
  lastSeq: number;
}

/**
 * Watches the store's physical transactions (for metrics); every backend calls it once per
 * transaction it commits, however many `commit` calls share it, and never lets it throw
 * into the write path.
 */
export interface StoreObserver {
  /** A transaction reached the disk: how long it took, and how many changes it held. */
  commit(durationSeconds: number, batchSize: number): void;
}

export interface StoreOptions {
  observer?: StoreObserver;
}

export interface Store {
  load(): Promise<Loaded>;
  commit(change: Change): Promise<void>;
  transaction(id: string): Promise<StoredTransaction | undefined>;
  contract(id: string): Promise<StoredContract | undefined>;
  contractByTransaction(transactionId: string): Promise<StoredContract | undefined>;
  /** Contracts where nodeId is the buyer or the seller, newest first. */
  contractsOf(nodeId: string): Promise<StoredContract[]>;
  /** Every contract, newest first (admin view). */
  allContracts(limit: number): Promise<StoredContract[]>;
  /** Waits for pending commits, then releases the backend; safe to call twice. */
  close(): Promise<void>;
}
