/**
 * The provider operations (§7) and the catalog scheduler's renewals and retractions, for a
 * shared market: each is decided under the flavor's row lock over its committed row, never
 * over this instance's copy, so that a refresh on one instance cannot bring back what another
 * withdrew, and a renewal due once is made once however many instances sweep.
 */
import type { Clock } from '../clock.js';
import { HubError } from '../errors.js';
import type { SharedStore } from '../store/shared-store.js';
import type { Flavor, FlavorPublish, FlavorRefresh } from '../types/wire.js';
import { makeEntry, type FlavorEntry } from './flavor-entry.js';
import { LockedLine } from './locked-flavor.js';
import type { CatalogWrites } from './market-ops.js';
import {
  checkManage,
  dueAt,
  newEntries,
  newFlavor,
  refreshedFlavor,
  renewedFlavor,
} from './offers.js';
import type { Principal } from './principal.js';
import type { SharedFeed } from './shared-feed.js';

export interface SharedOffersOptions {
  defaultTtlSeconds: number;
  ttpMs: number;
}

export class SharedOffers implements CatalogWrites {
  constructor(
    private readonly store: SharedStore,
    private readonly feed: SharedFeed,
    private readonly clock: Clock,
    private readonly options: SharedOffersOptions,
  ) {}

  async publish(principal: Principal, body: FlavorPublish): Promise<Flavor> {
    const now = this.clock.now();
    const ttlSeconds = body.ttlSeconds ?? this.options.defaultTtlSeconds;
    const flavor = newFlavor(principal, body, now, ttlSeconds);
    const entry = makeEntry(flavor, body.autoRenew ?? true, ttlSeconds);
    const { lastSeq } = await this.store.atomically({}, (locked) => {
      const line = new LockedLine(locked, now, this.options.ttpMs, this.feed.entries);
      line.add(entry);
      return line.outcome(undefined);
    });
    await this.feed.reached(lastSeq);
    return flavor;
  }

  async publishMany(principal: Principal, bodies: FlavorPublish[]): Promise<Flavor[]> {
    const now = this.clock.now();
    const entries = newEntries(principal, bodies, now, this.options.defaultTtlSeconds);
    // One transaction: every offer and its FLAVOR_ADDED, or none.
    const { lastSeq } = await this.store.atomically({}, (locked) => {
      const line = new LockedLine(locked, now, this.options.ttpMs, this.feed.entries);
      for (const e of entries) line.add(e);
      return line.outcome(undefined);
    });
    await this.feed.reached(lastSeq);
    return entries.map((e) => e.flavor);
  }

  async refresh(principal: Principal, flavorId: string, body: FlavorRefresh): Promise<Flavor> {
    return this.change(flavorId, (line, now) => {
      const prev = onOffer(line, flavorId);
      checkManage(principal, prev);
      const { flavor, ttlSeconds } = refreshedFlavor(prev, body, now);
      line.replace(makeEntry(flavor, prev.autoRenew, ttlSeconds));
      return flavor;
    });
  }

  async withdraw(principal: Principal, flavorId: string, message?: string): Promise<Flavor> {
    return this.change(flavorId, (line) => {
      const entry = onOffer(line, flavorId);
      checkManage(principal, entry);
      line.withdraw({ Code: 'operator', Message: message ?? 'withdrawn by its provider' });
      return entry.flavor;
    });
  }

  /**
   * The scheduler's work on one flavor whose deadline has passed: renew it, or retract it
   * (reason `expired`). A no-op when another instance got there first (the row is no longer
   * due): exactly once, whoever sweeps.
   */
  async due(flavorId: string): Promise<'renewed' | 'retracted' | 'none'> {
    return this.change(flavorId, (line, now) => {
      const entry = line.entry;
      if (!entry || dueAt(entry) > now) return 'none';
      if (entry.autoRenew) {
        line.replace(makeEntry(renewedFlavor(entry, now), entry.autoRenew, entry.ttlSeconds));
        return 'renewed';
      }
      line.withdraw({ Code: 'expired', Message: 'offer expired' });
      return 'retracted';
    });
  }

  private async change<T>(flavorId: string, fn: (line: LockedLine, now: number) => T): Promise<T> {
    const now = this.clock.now();
    const { result, lastSeq } = await this.store.atomically({ flavorId }, (locked) => {
      const line = new LockedLine(locked, now, this.options.ttpMs, this.feed.entries);
      return line.outcome(fn(line, now));
    });
    await this.feed.reached(lastSeq);
    return result;
  }
}

/** The flavor while it exists and has not expired (available or not), as §7 manages it. */
function onOffer(line: LockedLine, flavorId: string): FlavorEntry {
  const e = line.entry;
  if (!e || e.expiresAt <= line.now)
    throw new HubError('FLAVOR_NOT_FOUND', `No flavor ${flavorId} on offer`);
  return e;
}
