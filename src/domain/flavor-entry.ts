/**
 * A flavor as the hub holds it in memory: the wire object, its JSON serialized once per
 * change (LIST and every event reuse it), the facts selectors compare, and its schedule.
 */
import type { Flavor } from '../types/wire.js';
import { factsOf, type FlavorFacts } from './flavor-facts.js';

export interface FlavorEntry {
  readonly flavor: Flavor;
  readonly json: string;
  readonly facts: FlavorFacts;
  /** expirationTime in ms. */
  readonly expiresAt: number;
  readonly autoRenew: boolean;
  readonly ttlSeconds: number;
  /** True while this is the catalog's version of the flavor; indexes skip entries that are not. */
  current: boolean;
}

export function makeEntry(flavor: Flavor, autoRenew: boolean, ttlSeconds: number): FlavorEntry {
  return {
    flavor,
    json: JSON.stringify(flavor),
    facts: factsOf(flavor),
    expiresAt: Date.parse(flavor.expirationTime),
    autoRenew,
    ttlSeconds,
    current: false,
  };
}
