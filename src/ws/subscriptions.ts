/**
 * Who hears what: subscriptions indexed by flavor id and by distinct selector, and open
 * connections by buyer. Each event costs one lookup per flavor plus one test per distinct
 * selector — never one per connection.
 */
import type { DomainEvent } from '../domain/events.js';
import type { Selector } from '../domain/selector.js';

export interface Recipient {
  readonly buyerId: string;
}

export interface Subscription<C extends Recipient> {
  /** Sent to the client as a string; a number here costs no memory of its own. */
  readonly id: number;
  readonly conn: C;
  readonly flavorId?: string;
  readonly selector?: Selector;
}

interface SelectorGroup<C extends Recipient> {
  readonly selector: Selector;
  readonly subs: Set<Subscription<C>>;
}

/** Whether an event concerns a selector: it matched before or matches after the change. */
export function selectorHears(selector: Selector, event: DomainEvent): boolean {
  switch (event.kind) {
    case 'added':
    case 'withdrawn':
      return selector.test(event.flavor.facts);
    case 'refreshed':
      return selector.test(event.prev.facts) || selector.test(event.flavor.facts);
    case 'confirmed':
      return false;
  }
}

export class SubscriptionIndex<C extends Recipient> {
  private readonly byFlavor = new Map<string, Set<Subscription<C>>>();
  private readonly bySelector = new Map<string, SelectorGroup<C>>();
  private readonly byBuyer = new Map<string, Set<C>>();

  addConnection(conn: C): void {
    let set = this.byBuyer.get(conn.buyerId);
    if (!set) this.byBuyer.set(conn.buyerId, (set = new Set()));
    set.add(conn);
  }

  removeConnection(conn: C): void {
    const set = this.byBuyer.get(conn.buyerId);
    set?.delete(conn);
    if (set?.size === 0) this.byBuyer.delete(conn.buyerId);
  }

  add(sub: Subscription<C>): void {
    if (sub.flavorId !== undefined) {
      let set = this.byFlavor.get(sub.flavorId);
      if (!set) this.byFlavor.set(sub.flavorId, (set = new Set()));
      set.add(sub);
    } else if (sub.selector) {
      let group = this.bySelector.get(sub.selector.key);
      if (!group)
        this.bySelector.set(
          sub.selector.key,
          (group = { selector: sub.selector, subs: new Set() }),
        );
      group.subs.add(sub);
    }
  }

  remove(sub: Subscription<C>): void {
    if (sub.flavorId !== undefined) {
      const set = this.byFlavor.get(sub.flavorId);
      set?.delete(sub);
      if (set?.size === 0) this.byFlavor.delete(sub.flavorId);
    } else if (sub.selector) {
      const group = this.bySelector.get(sub.selector.key);
      group?.subs.delete(sub);
      if (group?.subs.size === 0) this.bySelector.delete(sub.selector.key);
    }
  }

  /** Subscriptions by flavor id that a withdrawal ends. */
  flavorSubscriptions(flavorId: string): Subscription<C>[] {
    return [...(this.byFlavor.get(flavorId) ?? [])];
  }

  /** Each connection that should receive the event, once. */
  recipients(event: DomainEvent): Set<C> {
    const out = new Set<C>();
    if (event.kind === 'confirmed') {
      for (const c of this.byBuyer.get(event.buyerId) ?? []) out.add(c);
      return out;
    }
    for (const s of this.byFlavor.get(event.flavorId) ?? []) out.add(s.conn);
    for (const group of this.bySelector.values()) {
      if (!selectorHears(group.selector, event)) continue;
      for (const s of group.subs) out.add(s.conn);
    }
    return out;
  }

  stats(): { flavorKeys: number; selectors: number; buyers: number } {
    return {
      flavorKeys: this.byFlavor.size,
      selectors: this.bySelector.size,
      buyers: this.byBuyer.size,
    };
  }
}
