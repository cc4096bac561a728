/**
 * The storage interfaces. Two kinds of backend, by where the market's authoritative state
 * lives (the rules are the domain's either way):
 *
 * - `Store` (store-sqlite.ts), the journal of one hub process: the domain core holds the live
 *   state in memory and writes every change through `commit`; the store is the source of
 *   truth after a restart.
 * - `SharedStore` (shared-store.ts, store-postgres.ts): the state lives in the database and
 *   every change is decided there, under a row lock, so that several hub processes serve one
 *   market.
 *
 * `StoreBase` is what both kinds offer; test/store/store-suite.ts checks its promises on each.
 *
 * Promises of a journal `Store` (the suite checks them):
 * - Atomic: one `commit(change)` is all-or-nothing — its flavors, transactions, contracts
 *   and events are written together or not at all.
 * - Durable: when the promise resolves the change survives a crash (fsync'd). Callers answer
 *   a client only after that, so no acknowledged contract is ever lost.
 * - Ordered: commits take effect, and their promises resolve, in call order. Several
 *   commits may share one physical transaction (group commit) without breaking either.
 * - Events: `seq` values are assigned by the caller, strictly growing (and consecutive: the
 *   journal counts them one by one); the store keeps them with the change that made them,
 *   and `eventsAfter` reads the retained ones in seq order.
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
  /**
   * What the catalog needs of the flavor besides its JSON (src/domain/flavor-summary.ts), a
   * JSON text written with it; load hands it back as written. Absent on rows stored before
   * summaries (the loader then parses the JSON).
   */
  summary?: string;
  expiresAt: number;
  autoRenew: boolean;
  ttlSeconds: number;
}

/**
 * A live flavor as `load` hands it: its JSON as text, or as its UTF-8 bytes when the backend
 * read them so (a restart need not decode 100,000 flavors' texts, and LIST answers with bytes).
 */
export interface LoadedFlavor extends Omit<StoredFlavor, 'json'> {
  json: string | JsonBytes;
}

/**
 * A flavor's JSON as UTF-8 bytes: `chunk` from `from` to `to`, a part of what the store read
 * at once (the rows read with it share the chunk; a view of it is made only when asked for).
 */
export interface JsonBytes {
  chunk: Buffer;
  from: number;
  to: number;
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
  /**
   * The wire dialect the transaction was reserved in (§13): 'fluidos' for the FLUIDOS node's
   * spelling, absent for REAR's. Set when the hold is made and never changed; every later
   * answer about the transaction (read, purchase, replay) on any instance uses it.
   */
  dialect?: 'fluidos';
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

/**
 * A contract signing key (§12). Keys are only ever added, never changed or removed: a key that
 * signed a contract must stay published. The newest (highest createdAt, then kid) signs.
 */
export interface StoredKey {
  kid: string;
  /** ms since the epoch. */
  createdAt: number;
  /** The Ed25519 private key, PKCS#8 PEM. A secret: never sent anywhere. */
  privateKeyPem: string;
  /** The public key as a JWK JSON text ({"kty":"OKP","crv":"Ed25519","x"}). */
  publicJwk: string;
}

export interface StoredEvent {
  seq: number;
  at: number;
  flavorId: string;
  /** The ServerMessage JSON. */
  wire: string;
  /**
   * For a refresh stored before the hub rebuilt it from the event's ModificationDetails: the
   * Flavor JSON before it. New rows leave it out; the stores still keep and load it.
   */
  prev?: string;
  /** For a confirmation: the buyer's NodeID. */
  buyerId?: string;
}

/**
 * An event as a shared store receives it, before its seq is known: the store takes the seq
 * under its counter and writes the wire `${before}${seq}${after}` (or `before` alone, for a
 * wire without its seq, when there is no `after`).
 */
export interface UnnumberedEvent extends Omit<StoredEvent, 'seq' | 'wire'> {
  before: string;
  after?: string;
}

/** An event's position and age: what the history's bound reads, without its texts. */
export interface EventTime {
  seq: number;
  at: number;
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
  /** Transactions with status reserved (live holds, possibly past their TTP). */
  openTransactions: StoredTransaction[];
  /**
   * The oldest retained event's seq, lastSeq + 1 when none is retained. The retained events
   * themselves stay in the store (`eventsAfter`, `eventTimes`): a start does not read them,
   * only a resume that reaches back to them does.
   */
  firstSeq: number;
  /** The highest seq ever committed (0 for a new store), even if its event was pruned. */
  lastSeq: number;
  /** Names this store's event history (§8 `epoch`): made with the store, never changed. */
  epoch: string;
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
  /** Connections a shared store keeps to its database (PostgreSQL; the embedded store has one writer). */
  poolSize?: number;
}

export type StoreKind = 'sqlite' | 'postgres';

export interface StoreBase {
  readonly kind: StoreKind;
  /**
   * Open holds and the retained history's range and epoch; every live flavor is handed to
   * `each` as it is read, in the same snapshot, rather than collected (a start on 100,000
   * flavors then keeps only what the catalog makes of them).
   */
  load(each: (flavor: LoadedFlavor) => void): Promise<Loaded>;
  /** Retained events with seq > after, ascending, at most `limit`. */
  eventsAfter(after: number, limit: number): Promise<StoredEvent[]>;
  /** The seq and time of retained events with seq > after, ascending, at most `limit`. */
  eventTimes(after: number, limit: number): Promise<EventTime[]>;
  /** Whether the backend can be reached now (a local file always can). */
  healthy(): boolean;
  transaction(id: string): Promise<StoredTransaction | undefined>;
  contract(id: string): Promise<StoredContract | undefined>;
  contractByTransaction(transactionId: string): Promise<StoredContract | undefined>;
  /** Contracts where nodeId is the buyer or the seller, newest first. */
  contractsOf(nodeId: string): Promise<StoredContract[]>;
  /** Every contract, newest first (admin view). */
  allContracts(limit: number): Promise<StoredContract[]>;
  /** Every contract key, oldest first (by createdAt, then kid). */
  keys(): Promise<StoredKey[]>;
  /**
   * Adds a key, durably, before it resolves. A kid that is already stored is left as it is
   * (two instances making their first key at once both succeed; both keys stay published).
   * Independent of `commit` and its ordering: keys are not part of any market change.
   */
  addKey(key: StoredKey): Promise<void>;
  /** Waits for pending writes, then releases the backend; safe to call twice. */
  close(): Promise<void>;
}

/** The journal of one hub process (see the promises above). */
export interface Store extends StoreBase {
  readonly kind: 'sqlite';
  commit(change: Change): Promise<void>;
}
