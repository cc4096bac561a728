/**
 * The domain core assembled: catalog, reservations, contracts, the journal and the event
 * bus, over one store and one clock. Adapters (REST routes, the WebSocket hub) talk to this
 * and nothing below it; it knows nothing of HTTP, WebSockets or SQL.
 */
import type { Clock } from '../clock.js';
import { HubError } from '../errors.js';
import type { Store } from '../store/store.js';
import { Catalog } from './catalog.js';
import { DeadlineQueue } from './deadlines.js';
import type { EventBus } from './event-bus.js';
import { MemoryEventBus, type HistoryBound } from './event-bus-memory.js';
import { fromRecord } from './events.js';
import { Journal, type FatalHandler } from './journal.js';
import { nodeId, type Principal } from './principal.js';
import { ReservationEngine } from './reservations.js';

export interface MarketOptions {
  clock: Clock;
  store: Store;
  ttpSeconds: number;
  flavorTtlSeconds: number;
  contractDays: number;
  history: HistoryBound;
  onFatal: FatalHandler;
}

const DAY_MS = 86_400_000;

export class Market {
  private closed = false;

  private constructor(
    readonly clock: Clock,
    readonly store: Store,
    readonly bus: EventBus,
    readonly catalog: Catalog,
    readonly reservations: ReservationEngine,
    private readonly deadlines: DeadlineQueue,
  ) {}

  /** Loads the store and rebuilds every index and deadline. */
  static async open(o: MarketOptions): Promise<Market> {
    const loaded = await o.store.load();
    const bus = new MemoryEventBus(o.clock, o.history, {
      lastSeq: loaded.lastSeq,
      events: loaded.events.map(fromRecord),
    });
    const journal = new Journal(o.store, bus, o.clock, o.onFatal);
    const deadlines = new DeadlineQueue(o.clock);
    const catalog = new Catalog(o.clock, journal, deadlines, {
      defaultTtlSeconds: o.flavorTtlSeconds,
    });
    const reservations = new ReservationEngine(o.clock, o.store, journal, catalog, deadlines, {
      ttpMs: o.ttpSeconds * 1000,
      contractMs: o.contractDays * DAY_MS,
    });
    catalog.load(loaded.flavors);
    await reservations.load(loaded.openTransactions);
    return new Market(o.clock, o.store, bus, catalog, reservations, deadlines);
  }

  /** A contract's JSON as stored, for its buyer, its seller or an admin. */
  async contractJson(principal: Principal, id: string): Promise<string> {
    const c = await this.store.contract(id);
    const me = nodeId(principal);
    if (!c || (principal.role !== 'admin' && c.buyerId !== me && c.sellerId !== me)) {
      throw new HubError('CONTRACT_NOT_FOUND');
    }
    return c.json;
  }

  /** The caller's contracts, as buyer or seller, newest first, as one JSON array. */
  async contractsJson(principal: Principal): Promise<string> {
    const rows = await this.store.contractsOf(nodeId(principal));
    return `[${rows.map((c) => c.json).join(',')}]`;
  }

  /** Tells `fn` how late each deadline (renewal, expiry, TTP, wait) runs, for metrics. */
  observeDeadlines(fn: (key: string, lateMs: number) => void): void {
    this.deadlines.observe(fn);
  }

  /**
   * Answers every waiter and stops every deadline (the catalog's renewals and retractions
   * live in the same queue); the store is closed by its owner. Safe twice.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reservations.close();
    this.deadlines.close();
  }
}
