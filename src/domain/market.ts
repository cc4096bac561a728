/**
 * The domain core assembled over one store and one clock: the catalog (what LIST and
 * subscriptions read), the provider operations, reservations and contracts, and the event bus.
 * Adapters (REST routes, the WebSocket hub) talk to this and nothing below it; it knows
 * nothing of HTTP, WebSockets or SQL.
 *
 * Two assemblies, by the kind of store (store/store.ts): with the journal of one process the
 * market lives in memory and is journaled (Catalog, ReservationEngine); with a shared store it
 * is decided in the database and this process keeps a catalog copy fed by the event history
 * (SharedOffers, SharedReservations, SharedFeed, and the leader's SharedSweeper).
 */
import type { Clock } from '../clock.js';
import { HubError } from '../errors.js';
import type { SharedStore } from '../store/shared-store.js';
import type { Loaded, Store, StoreBase } from '../store/store.js';
import { Catalog, type CatalogOptions, type Unsummarized } from './catalog.js';
import { ContractSigner } from './contract-signer.js';
import { DeadlineQueue } from './deadlines.js';
import type { EventBus } from './event-bus.js';
import { MemoryEventBus, type HistoryBound } from './event-bus-memory.js';
import { parsedEntry, summarizedEntry, type FlavorEntry } from './flavor-entry.js';
import { Journal, type FatalHandler } from './journal.js';
import type { CatalogWrites, Reservations } from './market-ops.js';
import { nodeId, type Principal } from './principal.js';
import { ReservationEngine } from './reservations.js';
import { SharedFeed } from './shared-feed.js';
import { SharedOffers } from './shared-offers.js';
import { SharedReservations } from './shared-reservations.js';
import { SharedSweeper } from './shared-sweeper.js';

export interface MarketOptions {
  clock: Clock;
  store: Store | SharedStore;
  ttpSeconds: number;
  flavorTtlSeconds: number;
  /** Bytes of LIST answers each catalog keeps while it does not change (0: none). */
  listCacheBytes?: number;
  contractDays: number;
  history: HistoryBound;
  /** A journal write failed (single process): the process must stop. */
  onFatal: FatalHandler;
  /** Where a shared market reports its background life (leadership, retried failures). */
  log?: MarketLog;
}

export interface MarketLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

const DAY_MS = 86_400_000;

/** LIST answers kept by default: a few hundred selectors' answers of a large catalog. */
export const LIST_CACHE_BYTES = 16 * 1024 * 1024;

function catalogOptions(o: MarketOptions): CatalogOptions {
  return {
    defaultTtlSeconds: o.flavorTtlSeconds,
    listCacheBytes: o.listCacheBytes ?? LIST_CACHE_BYTES,
  };
}

const settled = (...work: Array<Promise<void>>): Promise<void> =>
  Promise.all(work).then(() => undefined);

export class Market {
  private closed = false;

  private constructor(
    readonly clock: Clock,
    readonly store: StoreBase,
    readonly bus: EventBus,
    readonly catalog: Catalog,
    readonly offers: CatalogWrites,
    readonly reservations: Reservations,
    /** Stops the market's timers (deadlines, feed, sweeper). */
    private readonly stop: () => void,
    /** The single-process scheduler (tests read its stats); none in a shared market. */
    private readonly deadlines: DeadlineQueue | undefined,
    /** Signs contracts; its keys are published at GET /api/v2/keys (§12). */
    readonly signer: ContractSigner,
    /**
     * Settles once every flavor loaded at open has its deadline scheduled, the history
     * retained at open has its bound applied, and the summaries missing from loaded rows are
     * written (all in the background: Catalog.scheduleLoaded, MemoryEventBus.readTimes,
     * Catalog.writeSummaries); tests that move a fake clock past a loaded deadline await it.
     */
    readonly ready: Promise<void>,
    /** Set for a shared market. */
    readonly shared?: { feed: SharedFeed; sweeper: SharedSweeper },
  ) {}

  /** Loads the store and rebuilds every index and deadline. */
  static async open(o: MarketOptions): Promise<Market> {
    return o.store.kind === 'postgres'
      ? Market.openShared(o, o.store)
      : Market.openLocal(o, o.store);
  }

  /**
   * What both assemblies start from: the store's state, the contract signer (it makes the
   * first key if the store has none; with a shared store every instance signs with the set
   * kept there, §12) and the bus with the retained history.
   */
  private static async load(
    o: MarketOptions,
    store: StoreBase,
  ): Promise<{
    loaded: Loaded;
    flavors: FlavorEntry[];
    unsummarized: Unsummarized[];
    signer: ContractSigner;
    bus: MemoryEventBus;
  }> {
    // Each stored flavor becomes its catalog entry as it is read: the rows are not held. A
    // row stored without a summary (flavor-summary.ts) is parsed, and its summary kept to be
    // written after open (Catalog.writeSummaries), so the next start need not parse it.
    const flavors: FlavorEntry[] = [];
    const unsummarized: Unsummarized[] = [];
    const loaded = await store.load((f) => {
      const entry = summarizedEntry(f);
      if (entry) {
        flavors.push(entry);
        return;
      }
      const parsed = parsedEntry(f.json, f.autoRenew, f.ttlSeconds);
      flavors.push(parsed.entry);
      unsummarized.push(parsed);
    });
    const signer = await ContractSigner.open(store, o.clock.now());
    const bus = new MemoryEventBus(o.clock, o.history, loaded, store);
    return { loaded, flavors, unsummarized, signer, bus };
  }

  private static async openLocal(o: MarketOptions, store: Store): Promise<Market> {
    const { loaded, flavors, unsummarized, signer, bus } = await Market.load(o, store);
    const journal = new Journal(store, bus, o.clock, o.onFatal);
    const deadlines = new DeadlineQueue(o.clock);
    const catalog = new Catalog(o.clock, journal, deadlines, catalogOptions(o));
    const reservations = new ReservationEngine(o.clock, store, journal, catalog, deadlines, {
      ttpMs: o.ttpSeconds * 1000,
      contractMs: o.contractDays * DAY_MS,
      signer,
    });
    catalog.load(flavors);
    await reservations.load(loaded.openTransactions);
    const ready = settled(
      catalog.scheduleLoaded(),
      bus.readTimes(),
      catalog.writeSummaries(unsummarized),
    );
    return new Market(
      o.clock,
      store,
      bus,
      catalog,
      catalog,
      reservations,
      () => {
        reservations.close();
        deadlines.close();
        bus.close();
      },
      deadlines,
      signer,
      ready,
    );
  }

  private static async openShared(o: MarketOptions, store: SharedStore): Promise<Market> {
    const log = o.log;
    const warn = (msg: string, err: unknown): void => log?.warn({ err }, msg);
    const { loaded, flavors, signer, bus } = await Market.load(o, store);
    const catalog = new Catalog(o.clock, undefined, undefined, catalogOptions(o));
    catalog.load(flavors);
    // A replica schedules nothing (the sweeper ends offers); this only drops the load's list.
    const ready = settled(catalog.scheduleLoaded(), bus.readTimes());
    const feed = new SharedFeed(store, catalog, bus, o.clock, loaded.lastSeq, (err) =>
      warn('event feed read failed; retrying', err),
    );
    const ttpMs = o.ttpSeconds * 1000;
    const offers = new SharedOffers(store, feed, o.clock, {
      defaultTtlSeconds: o.flavorTtlSeconds,
      ttpMs,
    });
    const reservations = new SharedReservations(store, feed, o.clock, {
      ttpMs,
      contractMs: o.contractDays * DAY_MS,
      signer,
    });
    const sweeper = new SharedSweeper(store, offers, reservations, bus, o.clock, (err) =>
      warn('leader sweep failed; retrying', err),
    );
    feed.start();
    await store.listen({
      events: (newest) => feed.wake(newest),
      line: () => reservations.collect(),
      leader: (isLeader) => {
        sweeper.lead(isLeader);
        log?.info(
          { instance: store.instanceId, leader: isLeader },
          isLeader ? 'leading' : 'not leading',
        );
      },
      health: (up) => {
        log?.[up ? 'info' : 'warn'](
          { instance: store.instanceId },
          up ? 'store reachable' : 'store unreachable',
        );
        if (up) {
          feed.wake(undefined);
          reservations.collect();
        }
      },
    });
    return new Market(
      o.clock,
      store,
      bus,
      catalog,
      offers,
      reservations,
      () => {
        sweeper.close();
        reservations.close();
        feed.close();
        bus.close();
      },
      undefined,
      signer,
      ready,
      { feed, sweeper },
    );
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

  /**
   * Tells `fn` how late each deadline (renewal, expiry, TTP, wait) runs, for metrics. A shared
   * market has no such queue: its renewals run in the leader's sweeps (every 250 ms).
   */
  observeDeadlines(fn: (key: string, lateMs: number) => void): void {
    this.deadlines?.observe(fn);
  }

  /**
   * Answers every waiter and stops every timer (the catalog's renewals and retractions
   * included) and the signing thread, once what it was asked to sign is signed; the store is
   * closed by its owner. Safe twice.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    this.signer.close();
  }
}
