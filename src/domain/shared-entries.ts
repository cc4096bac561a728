/**
 * The flavors a shared-market instance already holds parsed, so that a flavor's row read under
 * its lock, or its event read back from the history, is not parsed again when it carries the
 * same JSON text: the catalog copy (fed by the history), and the versions this instance has
 * just written itself until the feed reads their events back. Equal text is the same flavor,
 * and an entry's object, JSON and facts are never changed in place, so the new entry shares
 * them (flavor-entry.ts sameFlavor) and only its schedule is the row's. Likewise the holds
 * this instance granted, until they end: the purchase that locks one reads back its row.
 *
 * In P9's load every reservation and purchase locks a flavor the catalog copy holds as it is
 * stored, and every sale's remainder comes back through the feed. Not parsing them again took
 * the hub's CPU per request from 680 to 649 µs in alternated rounds (docs/benchmarks.md,
 * "Eighteenth session").
 */
import type { SharedFlavor, SharedTransaction } from '../store/shared-store.js';
import type { StoredEvent } from '../store/store.js';
import type { Flavor, Transaction } from '../types/wire.js';
import type { Catalog } from './catalog.js';
import { carriesFlavor, flavorJsonIn } from './events.js';
import { makeEntry, sameFlavor, type FlavorEntry } from './flavor-entry.js';
import { factsOf } from './flavor-facts.js';
import { reservedJson } from './holds.js';

/**
 * Versions written here and not yet read back, or holds granted here, are dropped past this many
 * (a publish of many flavors, a feed stopped by an unreachable store, holds another instance
 * ended): they only save parsing.
 */
const MAX_WRITTEN = 10_000;

export class SharedEntries {
  /** The newest version of each flavor this instance wrote, until the feed reads it back. */
  private readonly written = new Map<string, FlavorEntry>();
  /** Holds granted here, by transaction id, with their row's JSON, until they end here. */
  private readonly holds = new Map<string, { readonly json: string; readonly tx: Transaction }>();

  constructor(private readonly catalog: Catalog) {}

  /** A live flavor's row, as an entry with the row's schedule. */
  ofRow(row: SharedFlavor): FlavorEntry {
    const held = this.same(row.flavorId, row.json);
    if (held) return sameFlavor(held, row.autoRenew, row.ttlSeconds);
    const flavor = JSON.parse(row.json) as Flavor;
    return makeEntry(flavor, row.autoRenew, row.ttlSeconds, factsOf(flavor), row.json);
  }

  /**
   * A version this instance is committing (new, refreshed, a sale's remainder). One whose
   * transaction rolls back stays until replaced: it is only ever used for its own text.
   */
  wrote(entry: FlavorEntry): void {
    if (this.written.size >= MAX_WRITTEN) this.written.clear();
    this.written.set(entry.flavorId, entry);
  }

  /** The catalog copy's entry for an added or refreshed event read from the history. */
  ofEvent(r: StoredEvent): FlavorEntry {
    const mine = this.written.get(r.flavorId);
    if (mine && carriesFlavor(r.wire, mine.json)) {
      this.written.delete(r.flavorId);
      return sameFlavor(mine, false, 0);
    }
    // Another instance's change (or one of ours already replaced): the one parse of the event.
    // The renewal settings stay with the leader, which reads them from the store.
    const msg = JSON.parse(r.wire) as { Flavor: Flavor; ModificationDetails?: unknown };
    const flavor = msg.Flavor;
    return makeEntry(flavor, false, 0, factsOf(flavor), flavorJsonIn(r.wire, msg));
  }

  /** A reserved hold's row as its Transaction. */
  txOf(row: SharedTransaction): Transaction {
    const held = this.holds.get(row.transactionId);
    return held && held.json === row.json && row.status === 'reserved' ? held.tx : parseTx(row);
  }

  /** JSON.stringify(tx) for a hold granted here: its row's JSON, with its Status. */
  txJson(tx: Transaction): string {
    const held = this.holds.get(tx.TransactionID);
    return held?.tx === tx && tx.Status === 'reserved'
      ? reservedJson(held.json)
      : JSON.stringify(tx);
  }

  /** A hold this instance grants (a rolled-back one is never read: its id is never stored). */
  granted(row: SharedTransaction, tx: Transaction): void {
    if (this.holds.size >= MAX_WRITTEN) this.holds.clear();
    this.holds.set(row.transactionId, { json: row.json, tx });
  }

  /** A hold ends (sold, cancelled, expired) by a change made here. */
  ended(transactionId: string): void {
    this.holds.delete(transactionId);
  }

  private same(flavorId: string, json: string): FlavorEntry | undefined {
    const mine = this.written.get(flavorId);
    if (mine && mine.json === json) return mine;
    const copy = this.catalog.held(flavorId);
    return copy && copy.json === json ? copy : undefined;
  }
}

/** A hold's row as its Transaction: the row's JSON with its status column. */
export function parseTx(row: SharedTransaction): Transaction {
  return { ...(JSON.parse(row.json) as Transaction), Status: row.status };
}
