/**
 * What the transports ask of the market, as two interfaces with one implementation per kind
 * of store: the single-process engine (catalog.ts, reservations.ts: state in memory, a
 * journal behind it) and the shared one (shared-offers.ts, shared-reservations.ts: state in
 * the database, decided under its row locks). Both apply the same rules (capacity.ts,
 * holds.ts, offers.ts) and keep the promises of §4–§8.
 */
import type {
  Flavor,
  FlavorPublish,
  FlavorRefresh,
  Reservation,
  Transaction,
} from '../types/wire.js';
import type { Principal } from './principal.js';

/** The provider operations of §7. Each resolves once its change is durable and published. */
export interface CatalogWrites {
  publish(principal: Principal, body: FlavorPublish): Promise<Flavor>;
  /** Up to 1,000 offers in one change: all published, or none (the first bad one named). */
  publishMany(principal: Principal, bodies: FlavorPublish[]): Promise<Flavor[]>;
  refresh(principal: Principal, flavorId: string, body: FlavorRefresh): Promise<Flavor>;
  withdraw(principal: Principal, flavorId: string, message?: string): Promise<Flavor>;
}

export interface ReserveOptions {
  /** Longest wait for the lock, ms (Prefer: wait); defaults to one TTP. */
  waitMs?: number;
  /**
   * The signal that aborts when the client goes away (it then leaves the line); asked for
   * only when the request has to wait.
   */
  signal?: () => AbortSignal;
  /**
   * The wire dialect of the request (§13), kept with the transaction so that every later
   * answer about it, on any instance, is given in it. Absent: REAR's.
   */
  dialect?: 'fluidos';
}

export interface PurchaseResult {
  /** The Contract's JSON, serialized once for the store and reused for the answer. */
  contractJson: string;
  replayed: boolean;
  /** The dialect the transaction was reserved in (§13); absent: REAR's. */
  dialect?: 'fluidos';
}

/** A transaction as read, with the dialect it was reserved in (§13). */
export interface TransactionView {
  tx: Transaction;
  dialect?: 'fluidos';
}

/** RESERVE_FLAVOR and PURCHASE_FLAVOR (§5, §6). */
export interface Reservations {
  reserve(principal: Principal, body: Reservation, opts?: ReserveOptions): Promise<Transaction>;
  /**
   * JSON.stringify(tx), for a Transaction this object answered: the JSON it already made of a
   * hold's, when it keeps one.
   */
  transactionJson(tx: Transaction): string;
  transaction(principal: Principal, id: string): Promise<Transaction>;
  /** The transaction with the dialect it was reserved in. */
  transactionView(principal: Principal, id: string): Promise<TransactionView>;
  cancel(principal: Principal, id: string): Promise<void>;
  purchase(principal: Principal, id: string): Promise<PurchaseResult>;
  /** Live holds and waiting requests this process knows of (metrics, tests). */
  stats(): { holds: number; waiters: number };
  /** Answers every waiting request (503) and stops every timer; safe twice. */
  close(): void;
}
