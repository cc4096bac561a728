/**
 * The catalog: every live flavor in memory, indexed by id and by type, and the catalog
 * scheduler that renews or retracts each flavor at its deadline. LIST reads only memory;
 * every change goes through the journal (durable, then published).
 */
import type { Clock } from '../clock.js';
import { HubError } from '../errors.js';
import type { Change, StoredFlavor } from '../store/store.js';
import type { Flavor, FlavorPublish, FlavorRefresh, WithdrawReason } from '../types/wire.js';
import { remainderEntry, type Remainder } from './capacity.js';
import type { DeadlineQueue } from './deadlines.js';
import { jsonArrayBytes, makeEntry, type FlavorEntry } from './flavor-entry.js';
import type { FlavorFacts } from './flavor-facts.js';
import { FLAVOR_TYPES, type FlavorTypeName } from './flavor-types.js';
import { diffFields, type EventDraft } from './events.js';
import type { Journal } from './journal.js';
import { ListAnswers } from './list-answers.js';
import type { CatalogWrites } from './market-ops.js';
import {
  checkManage,
  dueAt,
  newEntries,
  newFlavor,
  refreshedFlavor,
  renewedFlavor,
  storedFlavor,
} from './offers.js';
import type { Principal } from './principal.js';
import type { Selector } from './selector.js';
import { TopIndex } from './top-index.js';

export interface CatalogOptions {
  defaultTtlSeconds: number;
  /** Bytes of LIST answers kept between changes (list-answers.ts); 0 keeps none. */
  listCacheBytes: number;
}

/** A flavor loaded from a row without a summary, and the summary made when it was parsed. */
export interface Unsummarized {
  entry: FlavorEntry;
  summary: string;
}

/**
 * Called when a flavor leaves the catalog for any reason other than its own sale; adds the
 * ending of its holds to the change and returns what to do once that change is durable.
 */
export type RemovalHook = (flavorId: string, change: Change) => () => void;

export class Catalog implements CatalogWrites {
  private readonly entries = new Map<string, FlavorEntry>();
  private readonly byType = new Map<FlavorTypeName, Map<string, FlavorEntry>>(
    FLAVOR_TYPES.map((t) => [t, new Map()]),
  );
  private removalHook: RemovalHook = () => () => {};
  /** Loaded from the store, their deadlines not scheduled yet (`scheduleLoaded`). */
  private unscheduled: FlavorEntry[] = [];
  /** How each recent selector is answered, per type. */
  private readonly plans = new WeakMap<
    Selector,
    Map<string, { plan: Plan | undefined; uses: number }>
  >();
  /** LIST's answers while nothing changes, by selector (the query cache makes one per query). */
  private readonly answers: ListAnswers<Selector | undefined>;
  /** Built on first use, per "<type or *>:<field>"; kept up to date from then on. */
  private readonly topIndexes = new Map<string, TopIndex>();

  constructor(
    private readonly clock: Clock,
    /** Both undefined for a replica (see `put`). */
    private readonly journal: Journal | undefined,
    private readonly deadlines: DeadlineQueue | undefined,
    private readonly options: CatalogOptions,
  ) {
    this.answers = new ListAnswers(options.listCacheBytes);
  }

  /**
   * Fills the index from the store at start. Their deadlines are scheduled afterwards, by
   * `scheduleLoaded`: until then every read still hides what has expired (`get`, `list`).
   */
  load(entries: FlavorEntry[]): void {
    // Each loaded id is new (one row per flavor) and nothing is listed or indexed by a top
    // index yet: `index` without its checks for a previous version (100,000 lookups fewer).
    const fresh = this.entries.size === 0 && this.topIndexes.size === 0;
    for (const entry of entries) {
      if (!fresh) {
        this.index(entry, false);
        continue;
      }
      entry.current = true;
      this.entries.set(entry.flavorId, entry);
      (this.byType.get(entry.facts.type) as Map<string, FlavorEntry>).set(entry.flavorId, entry);
    }
    this.unscheduled = entries;
  }

  /**
   * Schedules the renewal or expiry of every flavor `load` indexed, `perTurn` at a time, one
   * batch per event-loop turn: a restart on 100,000 flavors serves again before it has
   * scheduled them all (about a tenth of its work) rather than after. Small batches, so that a
   * request meanwhile waits for a few milliseconds of them at most, not tens (a first LIST
   * after a restart answered ~0.1 s later with 4,000 per turn). A flavor changed in
   * the meantime was scheduled by that change; it is skipped, as is one that left. A
   * deadline that fell due while the hub was down fires once its batch is scheduled, a few
   * turns later than if it had been scheduled at load.
   */
  async scheduleLoaded(perTurn = 1000): Promise<void> {
    const loaded = this.unscheduled;
    this.unscheduled = [];
    for (let i = 0; i < loaded.length; i += perTurn) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!this.deadlines || this.deadlines.isClosed()) return;
      for (const entry of loaded.slice(i, i + perTurn)) if (entry.current) this.schedule(entry);
    }
  }

  /**
   * Writes the summary of each flavor loaded from a row stored without one (rows written
   * before summaries), `perTurn` rows per commit, one commit per event-loop turn, so the next
   * start reads summaries instead of parsing every flavor. Each row is the loaded one with
   * its summary added: a flavor changed or withdrawn since load is skipped (its change wrote
   * its row, with a summary), and a change made after a batch is committed after it.
   */
  async writeSummaries(pending: readonly Unsummarized[], perTurn = 2000): Promise<void> {
    for (let i = 0; i < pending.length; i += perTurn) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!this.journal || !this.deadlines || this.deadlines.isClosed()) return;
      const rows: StoredFlavor[] = [];
      for (const { entry, summary } of pending.slice(i, i + perTurn))
        if (entry.current) rows.push(storedFlavor(entry, 'live', summary));
      if (rows.length > 0) await this.journal.write({ flavors: rows });
    }
  }

  onRemoval(hook: RemovalHook): void {
    this.removalHook = hook;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A flavor that exists and has not expired (available or not); undefined otherwise. */
  get(flavorId: string): FlavorEntry | undefined {
    const e = this.entries.get(flavorId);
    return e && e.expiresAt > this.clock.now() ? e : undefined;
  }

  /**
   * Flavors on offer (available, not expired) that match, optionally of one type. With a
   * lower bound on a numeric field, walks the most selective top index instead of every flavor.
   */
  list(selector: Selector | undefined, type?: FlavorTypeName): FlavorEntry[] {
    const now = this.clock.now();
    const all = type ? (this.byType.get(type) as Map<string, FlavorEntry>) : this.entries;
    const out: FlavorEntry[] = [];
    const plan = selector && this.plan(selector, type, all.size / 2);
    // A plan's index has already decided some of the selector's fields; within one type's
    // flavors the selector's own type test is already true.
    const test = plan
      ? plan.rest
      : selector && (type && selector.type === type ? selector.testFields : selector.test);
    const accept = (e: FlavorEntry): boolean =>
      e.expiresAt > now && e.available && (test === undefined || test(e.facts));
    if (plan) plan.index.collect(plan.lo1, plan.lo2, accept, out);
    else for (const e of all.values()) if (accept(e)) out.push(e);
    return out;
  }

  /**
   * The JSON array LIST answers, assembled from each flavor's cached bytes — or, when the
   * catalog has not changed since the same selector was last answered, those same bytes.
   */
  listBytes(selector: Selector | undefined, type?: FlavorTypeName): Buffer {
    const now = this.clock.now();
    const tag = type ?? '*';
    const kept = this.answers.get(selector, tag, now);
    if (kept) return kept;
    const entries = this.list(selector, type);
    let validUntil = Infinity;
    for (const e of entries) if (e.expiresAt < validUntil) validUntil = e.expiresAt;
    const bytes = jsonArrayBytes(entries);
    this.answers.set(selector, { tag, bytes, validUntil });
    return bytes;
  }

  async publish(principal: Principal, body: FlavorPublish): Promise<Flavor> {
    const journal = this.writable();
    const ttlSeconds = body.ttlSeconds ?? this.options.defaultTtlSeconds;
    const flavor = newFlavor(principal, body, this.clock.now(), ttlSeconds);
    const entry = makeEntry(flavor, body.autoRenew ?? true, ttlSeconds);
    this.index(entry);
    await journal.write({ flavors: [storedFlavor(entry)] }, [{ kind: 'added', flavor: entry }]);
    return flavor;
  }

  /**
   * Publishes every offer or none (§7): each is checked before any is indexed (the first bad
   * one is named by its index), then all go to the store in one change — one commit, so a
   * crash keeps all of them or none.
   */
  async publishMany(principal: Principal, bodies: FlavorPublish[]): Promise<Flavor[]> {
    const journal = this.writable();
    const entries = newEntries(principal, bodies, this.clock.now(), this.options.defaultTtlSeconds);
    for (const entry of entries) this.index(entry);
    await journal.write(
      { flavors: entries.map((e) => storedFlavor(e)) },
      entries.map((entry) => ({ kind: 'added' as const, flavor: entry })),
    );
    return entries.map((e) => e.flavor);
  }

  async refresh(principal: Principal, flavorId: string, body: FlavorRefresh): Promise<Flavor> {
    const prev = this.require(principal, flavorId);
    const { flavor, ttlSeconds } = refreshedFlavor(prev, body, this.clock.now());
    await this.replace(prev, flavor, ttlSeconds);
    return flavor;
  }

  async withdraw(principal: Principal, flavorId: string, message?: string): Promise<Flavor> {
    const entry = this.require(principal, flavorId);
    await this.remove(entry, { Code: 'operator', Message: message ?? 'withdrawn by its provider' });
    return entry.flavor;
  }

  /**
   * Records a sale: the remainder stays on offer (REFRESH_FLAVOR of what changed) or, when
   * nothing sellable is left, the flavor leaves (WITHDRAW_FLAVOR, sold). Memory changes now;
   * the caller commits the returned pieces with the contract in one change.
   */
  sold(
    entry: FlavorEntry,
    remainder: Remainder | undefined,
  ): { flavors: StoredFlavor[]; drafts: EventDraft[] } {
    if (remainder) {
      const { next, changes } = remainderEntry(entry, remainder);
      // The remainder keeps the flavor's expiry: its deadline, when already set, stays.
      this.index(next, this.deadlines?.at(scheduleKey(next.flavorId)) !== dueAt(next));
      return {
        flavors: [storedFlavor(next)],
        drafts: [{ kind: 'refreshed', flavor: next, prev: entry, changes }],
      };
    }
    this.unindex(entry);
    return {
      flavors: [storedFlavor(entry, 'withdrawn')],
      drafts: [{ kind: 'withdrawn', flavor: entry, reason: { Code: 'sold', Message: 'sold out' } }],
    };
  }

  /**
   * A replica (the copy an instance of a shared market keeps, fed by the event history) puts
   * the offer as an event carried it: no journal, no schedule. Returns the version it
   * replaces (the feed applies events in seq order, so that is the one the change started from).
   */
  put(entry: FlavorEntry): FlavorEntry | undefined {
    const prev = this.entries.get(entry.flavorId);
    this.index(entry);
    return prev;
  }

  /** A replica's version of the flavor, expired or not (shared-entries.ts reuses it). */
  held(flavorId: string): FlavorEntry | undefined {
    return this.entries.get(flavorId);
  }

  /** A replica drops an offer that left the market. */
  drop(flavorId: string): void {
    const entry = this.entries.get(flavorId);
    if (entry) this.unindex(entry);
  }

  private writable(): Journal {
    if (!this.journal) throw new Error('a replica catalog is written only through its feed');
    return this.journal;
  }

  private require(principal: Principal, flavorId: string): FlavorEntry {
    const entry = this.get(flavorId);
    if (!entry) throw new HubError('FLAVOR_NOT_FOUND', `No flavor ${flavorId} on offer`);
    checkManage(principal, entry);
    return entry;
  }

  private async replace(prev: FlavorEntry, flavor: Flavor, ttlSeconds: number): Promise<void> {
    const next = makeEntry(flavor, prev.autoRenew, ttlSeconds);
    this.index(next);
    const changes = diffFields(prev.flavor, flavor);
    await this.writable().write({ flavors: [storedFlavor(next)] }, [
      { kind: 'refreshed', flavor: next, prev, changes },
    ]);
  }

  private async remove(entry: FlavorEntry, reason: WithdrawReason): Promise<void> {
    const journal = this.writable();
    this.unindex(entry);
    const change: Change = { flavors: [storedFlavor(entry, 'withdrawn')] };
    const after = this.removalHook(entry.flavor.flavorId, change);
    await journal.write(change, [{ kind: 'withdrawn', flavor: entry, reason }]);
    after();
  }

  /**
   * Picks how to answer a selector: the index on its most selective lower bound, ordered
   * second by its next most selective one, within its string match when it has one — or
   * undefined when no bound narrows the flavors below `worthIt` (then a scan is cheaper).
   */
  private plan(
    selector: Selector,
    type: FlavorTypeName | undefined,
    worthIt: number,
  ): Plan | undefined {
    // Any index of a bound answers correctly (callers test the whole selector), so a plan can
    // be reused; it is redone now and then, as the catalog changes what is most selective.
    let byType = this.plans.get(selector);
    if (!byType) this.plans.set(selector, (byType = new Map()));
    const memo = byType.get(type ?? '*');
    if (memo && memo.uses++ < REPLAN_EVERY) return memo.plan;
    const plan = this.choosePlan(selector, type, worthIt);
    byType.set(type ?? '*', { plan, uses: 0 });
    return plan;
  }

  private choosePlan(
    selector: Selector,
    type: FlavorTypeName | undefined,
    worthIt: number,
  ): Plan | undefined {
    const bounds = selector.lowerBounds
      .filter((b) => type || b.field === 'price')
      .map((b) => ({ ...b, count: this.topIndex(type, b.field).count(b.lo) }))
      .sort((a, b) => a.count - b.count);
    const [first, second] = bounds;
    if (!first || first.count >= worthIt) return undefined;
    const eq = type ? selector.equalities[0] : undefined;
    const index =
      this.topIndexes.size < MAX_TOP_INDEXES
        ? this.topIndex(type, first.field, second?.field, eq)
        : this.topIndex(type, first.field);
    const composite =
      this.topIndexes.get(indexName(type, first.field, second?.field, eq)) === index;
    // What the walk itself guarantees: a bound that is the field's whole test (a range with
    // only a min, compared on the same largest size the index sorts by), and the string match
    // the index is partitioned on. Only the rest is tested flavor by flavor.
    const decided = new Set<string>();
    if (first.exact) decided.add(first.field);
    if (composite && second?.exact) decided.add(second.field);
    if (composite && eq) decided.add(eq.field);
    const rest = selector.testRest(decided, type !== undefined && selector.type === type);
    return { index, lo1: first.lo, lo2: composite ? second?.lo : undefined, rest };
  }

  private topIndex(
    type: FlavorTypeName | undefined,
    field: string,
    then?: string,
    eq?: { field: string; value: string },
  ): TopIndex {
    const name = indexName(type, field, then, eq);
    let index = this.topIndexes.get(name);
    if (!index) {
      const source = type ? (this.byType.get(type) as Map<string, FlavorEntry>) : this.entries;
      index = new TopIndex(
        {
          primary: topOf(field),
          ...(then ? { secondary: topOf(then) } : {}),
          ...(eq ? { include: (e: FlavorEntry) => e.facts.strings[eq.field] === eq.value } : {}),
        },
        source.values(),
      );
      this.topIndexes.set(name, index);
    }
    return index;
  }

  private index(entry: FlavorEntry, schedule = true): void {
    const id = entry.flavorId;
    const prev = this.entries.get(id);
    if (prev) prev.current = false;
    entry.current = true;
    this.answers.clear();
    this.entries.set(id, entry);
    (this.byType.get(entry.facts.type) as Map<string, FlavorEntry>).set(id, entry);
    for (const [name, index] of this.topIndexes) {
      if (prev && indexCovers(name, prev)) index.remove(prev);
      if (indexCovers(name, entry)) index.add(entry);
    }
    if (schedule) this.schedule(entry);
  }

  private unindex(entry: FlavorEntry): void {
    const id = entry.flavorId;
    entry.current = false;
    this.answers.clear();
    this.entries.delete(id);
    this.byType.get(entry.facts.type)?.delete(id);
    for (const [name, index] of this.topIndexes) if (indexCovers(name, entry)) index.remove(entry);
    this.deadlines?.cancel(scheduleKey(id));
  }

  /** Renewal shortly before expiry, or retraction at it (offers.ts dueAt); none in a replica. */
  private schedule(entry: FlavorEntry): void {
    if (!this.deadlines) return;
    const id = entry.flavorId;
    const at = dueAt(entry);
    if (entry.autoRenew) this.deadlines.schedule(scheduleKey(id), at, () => this.renew(id));
    else this.deadlines.schedule(scheduleKey(id), at, () => this.retract(id));
  }

  private renew(flavorId: string): void {
    const prev = this.entries.get(flavorId);
    if (!prev) return;
    const flavor = renewedFlavor(prev, this.clock.now());
    // Failures are fatal and reported by the journal; nothing awaits a scheduled change.
    this.replace(prev, flavor, prev.ttlSeconds).catch(() => {});
  }

  private retract(flavorId: string): void {
    const entry = this.entries.get(flavorId);
    if (!entry) return;
    this.remove(entry, { Code: 'expired', Message: 'offer expired' }).catch(() => {});
  }
}

interface Plan {
  index: TopIndex;
  lo1: bigint;
  lo2: bigint | undefined;
  /** The selector's test without what the index decides; undefined when nothing is left. */
  rest: ((facts: FlavorFacts) => boolean) | undefined;
}

/** Uses of a plan before it is chosen afresh. */
const REPLAN_EVERY = 256;

/** Indexes kept at most; past that, plans fall back to the single-field ones. */
const MAX_TOP_INDEXES = 64;

function indexName(
  type: FlavorTypeName | undefined,
  field: string,
  then?: string,
  eq?: { field: string; value: string },
): string {
  return `${type ?? '*'}:${field}${then ? `>${then}` : ''}${eq ? `@${eq.field}=${eq.value}` : ''}`;
}

function topOf(field: string): (e: FlavorEntry) => bigint | undefined {
  return field === 'price' ? (e) => e.facts.price : (e) => e.facts.nums[field]?.top;
}

function indexCovers(name: string, entry: FlavorEntry): boolean {
  return name.startsWith('*:') || name.startsWith(`${entry.facts.type}:`);
}

function scheduleKey(flavorId: string): string {
  return `flavor:${flavorId}`;
}
