/**
 * What an offer becomes when it is published, refreshed or renewed, and the row the store
 * keeps of it: the rules every backend applies (the in-memory catalog and the shared one).
 */
import { toRfc3339 } from '../clock.js';
import { HubError } from '../errors.js';
import type { SharedFlavor } from '../store/shared-store.js';
import type { StoredFlavor } from '../store/store.js';
import type { Flavor, FlavorPublish, FlavorRefresh } from '../types/wire.js';
import { makeEntry, type FlavorEntry } from './flavor-entry.js';
import { checkFlavorType } from './flavor-rules.js';
import { summaryOf } from './flavor-summary.js';
import { newFlavorId } from './ids.js';
import { canManage, canPublish, type Principal } from './principal.js';

/** Renewal runs this long before expiry at most (a fifth of the TTL when that is less). */
export const MAX_RENEW_LEAD_MS = 30_000;

/** A new offer from a provider's body; throws FORBIDDEN or INVALID_REQUEST. */
export function newFlavor(
  principal: Principal,
  body: FlavorPublish,
  now: number,
  ttlSeconds: number,
): Flavor {
  if (!canPublish(principal))
    throw new HubError('FORBIDDEN', 'Only a provider or an admin publishes flavors');
  checkFlavorType(body.type);
  const id = principal.identity;
  return {
    flavorId: newFlavorId(now),
    providerId: id.NodeID,
    timestamp: toRfc3339(now),
    expirationTime: toRfc3339(now + ttlSeconds * 1000),
    type: body.type,
    price: body.price,
    owner: {
      domain: id.Domain,
      nodeId: id.NodeID,
      ip: id.IP,
      ...(id.AdditionalInformation ? { additionalInformation: id.AdditionalInformation } : {}),
    },
    availability: true,
    ...(body.location ? { location: body.location } : {}),
    ...(body.networkPropertyType !== undefined
      ? { networkPropertyType: body.networkPropertyType }
      : {}),
  };
}

/**
 * New offers from a batch of bodies, all checked before any is used: the first bad one is
 * named by its index (§7, all or nothing).
 */
export function newEntries(
  principal: Principal,
  bodies: readonly FlavorPublish[],
  now: number,
  defaultTtlSeconds: number,
): FlavorEntry[] {
  return bodies.map((body, i) => {
    try {
      const ttlSeconds = body.ttlSeconds ?? defaultTtlSeconds;
      return makeEntry(
        newFlavor(principal, body, now, ttlSeconds),
        body.autoRenew ?? true,
        ttlSeconds,
      );
    } catch (err) {
      if (err instanceof HubError && err.code !== 'FORBIDDEN')
        throw new HubError(err.code, `offer ${i}: ${err.message}`, err.headers);
      throw err;
    }
  });
}

/** The offer after a provider's refresh: new timestamps, optional price and availability. */
export function refreshedFlavor(
  prev: FlavorEntry,
  body: FlavorRefresh,
  now: number,
): { flavor: Flavor; ttlSeconds: number } {
  const ttlSeconds = body.ttlSeconds ?? prev.ttlSeconds;
  return {
    ttlSeconds,
    flavor: {
      ...prev.flavor,
      timestamp: toRfc3339(now),
      expirationTime: toRfc3339(now + ttlSeconds * 1000),
      ...(body.price ? { price: body.price } : {}),
      ...(body.availability !== undefined ? { availability: body.availability } : {}),
    },
  };
}

/** The offer renewed by the catalog scheduler for another TTL. */
export function renewedFlavor(prev: FlavorEntry, now: number): Flavor {
  return {
    ...prev.flavor,
    timestamp: toRfc3339(now),
    expirationTime: toRfc3339(now + prev.ttlSeconds * 1000),
  };
}

/** Throws unless the caller may manage the offer (its provider, or an admin). */
export function checkManage(principal: Principal, entry: FlavorEntry): void {
  if (!canManage(principal, entry.flavor.providerId)) {
    throw new HubError('FORBIDDEN', 'Only the owning provider or an admin manages this flavor');
  }
}

/** When the scheduler acts on an offer: renewal shortly before expiry, or retraction at it. */
export function dueAt(entry: FlavorEntry): number {
  if (!entry.autoRenew) return entry.expiresAt;
  return entry.expiresAt - Math.min(MAX_RENEW_LEAD_MS, (entry.ttlSeconds * 1000) / 5);
}

/**
 * The store's row of an offer; `summary` when the caller already has it (a loaded row's,
 * made when it was parsed). Read from the entry's own fields, so a loaded entry's flavor is
 * not parsed for it.
 */
export function storedFlavor(
  entry: FlavorEntry,
  status: StoredFlavor['status'] = 'live',
  summary?: string,
): SharedFlavor {
  return {
    flavorId: entry.flavorId,
    providerId: entry.facts.providerId,
    status,
    json: entry.json,
    // A withdrawn row is never loaded again: only a live one needs its summary.
    ...(status === 'live' ? { summary: summary ?? summaryOf(entry.flavor) } : {}),
    expiresAt: entry.expiresAt,
    autoRenew: entry.autoRenew,
    ttlSeconds: entry.ttlSeconds,
    dueAt: dueAt(entry),
  };
}
