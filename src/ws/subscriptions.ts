/**
 * Who hears what: subscribers indexed by flavor id and by distinct selector, and open
 * connections by buyer. Each event costs one lookup per flavor plus one test per distinct
 * selector — never one per connection.
 *
 * Memory is the constraint here (tens of thousands of mostly idle connections, each with a
 * few subscriptions), so there is no object per subscription: a connection keeps its
 * subscriptions as one flat list of (id, target) pairs, and the index keeps plain arrays of
 * connections. A connection holds at most one subscription per target, so it appears at
 * most once in each array.
 */
import type { DomainEvent } from '../domain/events.js';
import type { Selector } from '../domain/selector.js';

/** What a subscription follows: one flavor (its id) or a selector. */
export type Target = string | Selector;

export interface Subscriber {
  readonly buyerId: string;
  /** [id, target, id, target, …]; ids are sent to the client as strings. */
  subs: Array<number | Target>;
}

/** Whether an event concerns a selector: it matched before or matches after the change. */
export function selectorHears(selector: Selector, event: DomainEvent): boolean {
  switch (event.kind) {
    case 'added':
    case 'withdrawn':
      return selector.test(event.facts);
    case 'refreshed':
      return selector.test(event.prevFacts) || selector.test(event.facts);
    case 'confirmed':
      return false;
  }
}

const sameTarget = (a: Target, b: Target): boolean =>
  typeof a === 'string' || typeof b === 'string' ? a === b : a.key === b.key;

/** Each (id, target) pair of a subscriber's list, oldest first. */
export function* subscriptionsOf(s: Subscriber): Generator<[number, Target]> {
  for (let i = 0; i < s.subs.length; i += 2) yield [s.subs[i] as number, s.subs[i + 1] as Target];
}

/** The id of the subscriber's subscription to this target, if it has one. */
export function findSubscription(s: Subscriber, target: Target): number | undefined {
  for (let i = 0; i < s.subs.length; i += 2) {
    if (sameTarget(s.subs[i + 1] as Target, target)) return s.subs[i] as number;
  }
  return undefined;
}

export const subscriptionCount = (s: Subscriber): number => s.subs.length / 2;

function removeOnce<T>(list: T[], item: T): void {
  const i = list.lastIndexOf(item);
  if (i < 0) return;
  list[i] = list[list.length - 1] as T;
  list.pop();
}

export class SubscriptionIndex<C extends Subscriber> {
  private readonly byFlavor = new Map<string, C[]>();
  private readonly bySelector = new Map<string, { selector: Selector; conns: C[] }>();
  private readonly byBuyer = new Map<string, Set<C>>();

  addConnection(conn: C): void {
    let set = this.byBuyer.get(conn.buyerId);
    if (!set) this.byBuyer.set(conn.buyerId, (set = new Set()));
    set.add(conn);
  }

  /** Forgets the connection and every subscription it holds. */
  removeConnection(conn: C): void {
    for (let i = 1; i < conn.subs.length; i += 2) this.unindex(conn, conn.subs[i] as Target);
    conn.subs.length = 0;
    const set = this.byBuyer.get(conn.buyerId);
    set?.delete(conn);
    if (set?.size === 0) this.byBuyer.delete(conn.buyerId);
  }

  /** Adds a subscription; the caller has checked the connection has none to this target. */
  add(conn: C, id: number, target: Target): void {
    // concat allocates exactly what is needed; push would leave up to half the array spare.
    conn.subs = conn.subs.concat([id, target]);
    if (typeof target === 'string') {
      let conns = this.byFlavor.get(target);
      if (!conns) this.byFlavor.set(target, (conns = []));
      conns.push(conn);
    } else {
      let group = this.bySelector.get(target.key);
      if (!group) this.bySelector.set(target.key, (group = { selector: target, conns: [] }));
      group.conns.push(conn);
    }
  }

  /** Ends the connection's subscription with this id; returns whether it had one. */
  remove(conn: C, id: number): boolean {
    const i = conn.subs.indexOf(id);
    if (i < 0 || i % 2 !== 0) return false;
    this.unindex(conn, conn.subs[i + 1] as Target);
    conn.subs.splice(i, 2);
    return true;
  }

  /** Ends every subscription to the flavor (it was withdrawn). */
  endFlavor(flavorId: string): void {
    const conns = this.byFlavor.get(flavorId);
    if (!conns) return;
    this.byFlavor.delete(flavorId);
    for (const conn of conns) {
      const i = conn.subs.indexOf(flavorId);
      if (i > 0) conn.subs.splice(i - 1, 2);
    }
  }

  /**
   * Each connection that should receive the event, once, as a snapshot (sending may close
   * a connection). A flavor's subscribers are distinct already, so only a selector that
   * hears the event costs a set to merge them.
   */
  recipients(event: DomainEvent): C[] {
    if (event.kind === 'confirmed') return [...(this.byBuyer.get(event.buyerId) ?? [])];
    const direct = this.byFlavor.get(event.flavorId) ?? [];
    let merged: Set<C> | undefined;
    for (const group of this.bySelector.values()) {
      if (!selectorHears(group.selector, event)) continue;
      merged ??= new Set(direct);
      for (const c of group.conns) merged.add(c);
    }
    return merged ? [...merged] : direct.slice();
  }

  stats(): { flavorKeys: number; selectors: number; buyers: number } {
    return {
      flavorKeys: this.byFlavor.size,
      selectors: this.bySelector.size,
      buyers: this.byBuyer.size,
    };
  }

  private unindex(conn: C, target: Target): void {
    if (typeof target === 'string') {
      const conns = this.byFlavor.get(target);
      if (!conns) return;
      removeOnce(conns, conn);
      if (conns.length === 0) this.byFlavor.delete(target);
    } else {
      const group = this.bySelector.get(target.key);
      if (!group) return;
      removeOnce(group.conns, conn);
      if (group.conns.length === 0) this.bySelector.delete(target.key);
    }
  }
}
