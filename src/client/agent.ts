/**
 * An agent that keeps the best offer matching a selector bought: it watches the selector,
 * reserves and purchases the best offer, and when the offer it holds or bought is withdrawn
 * (by its provider, or by expiry) it buys the next best at once. An offer it could not get
 * (held by someone else, sold meanwhile) is skipped until the hub tells of a change to it.
 */
import type { Configuration, Contract, Flavor, SubscriptionSelector } from '../types/wire.js';
import type { RearHub } from './client.js';
import { Emitter } from './emitter.js';
import { HubApiError } from './errors.js';
import type { FlavorEvent, Subscription } from './subscription.js';

export interface AgentOptions {
  /** The offers it may buy: a §8 selector, e.g. `{ type: 'k8slice', filter: { cpu: { range: { min: '4' } } } }`. */
  selector: SubscriptionSelector;
  /** What to buy of an offer (a partition, a number of machines); without it, the whole offer. */
  configuration?: Configuration | ((flavor: Flavor) => Configuration | undefined);
  /** Orders offers best first. Default: `cheapest`. */
  rank?: (a: Flavor, b: Flavor) => number;
  /** Seconds to wait in an offer's line before trying the next. Default 0: skip held offers. */
  wait?: number;
}

export interface AgentEvents {
  bought: { flavor: Flavor; contract: Contract };
  /** The offer it bought (or held) was withdrawn; it is looking for the next. */
  lost: { flavorId: string; reason: string };
  /** An offer it tried and could not get. */
  skipped: { flavorId: string; error: HubApiError };
}

/** Cheapest first (by `price.amount`), then oldest id. */
export const cheapest = (a: Flavor, b: Flavor): number =>
  Number(a.price.amount) - Number(b.price.amount) || a.flavorId.localeCompare(b.flavorId);

export class Agent extends Emitter<AgentEvents> {
  /** What it holds bought now. */
  current: { flavorId: string; contract: Contract } | undefined;
  private sub: Subscription | undefined;
  private readonly skipped = new Set<string>();
  /** Offers withdrawn by their provider or by expiry. */
  private readonly gone = new Set<string>();
  private busy = false;
  private again = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly hub: RearHub,
    private readonly options: AgentOptions,
  ) {
    super();
  }

  /** Subscribes and buys the best offer there is (resolves once subscribed). */
  async start(): Promise<void> {
    const sub = this.hub.subscribe({ selector: this.options.selector });
    this.sub = sub;
    sub.on('subscribed', () => this.kick());
    sub.on('event', (e) => this.onEvent(e));
    await sub.ready();
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  /** Resolves once it has nothing left to try (for tests and scripts). */
  settled(): Promise<void> {
    return this.busy ? new Promise((r) => this.idle.push(r)) : Promise.resolve();
  }

  private onEvent(e: FlavorEvent): void {
    // `sold` is the hub retiring what was bought (ours, or the rest of it): the contract stands.
    const withdrawn = e.type === 'WITHDRAW_FLAVOR' && e.Reason.Code !== 'sold';
    if (withdrawn) this.gone.add(e.flavorId);
    else this.skipped.delete(e.flavorId);
    if (withdrawn && this.current?.flavorId === e.flavorId) {
      this.current = undefined;
      this.emit('lost', { flavorId: e.flavorId, reason: `${e.Reason.Code}: ${e.Reason.Message}` });
    }
    if (!this.current) this.kick();
  }

  private kick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.run().finally(() => {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.kick();
      } else for (const r of this.idle.splice(0)) r();
    });
  }

  private async run(): Promise<void> {
    const rank = this.options.rank ?? cheapest;
    while (!this.current && this.sub) {
      const best = this.sub
        .flavors()
        .filter(
          (f) => f.availability && !this.skipped.has(f.flavorId) && !this.gone.has(f.flavorId),
        )
        .sort(rank)[0];
      if (!best) return;
      await this.buy(best);
    }
  }

  private async buy(flavor: Flavor): Promise<void> {
    const c = this.options.configuration;
    const configuration = typeof c === 'function' ? c(flavor) : c;
    try {
      const tx = await this.hub.reserve(flavor.flavorId, {
        wait: this.options.wait ?? 0,
        ...(configuration ? { Configuration: configuration } : {}),
      });
      const contract = await this.hub.purchase(tx.TransactionID);
      if (this.gone.has(flavor.flavorId)) {
        // Withdrawn while we bought it: look again.
        this.emit('lost', { flavorId: flavor.flavorId, reason: 'withdrawn while buying' });
        return;
      }
      this.current = { flavorId: flavor.flavorId, contract };
      this.emit('bought', { flavor, contract });
    } catch (err) {
      if (!(err instanceof HubApiError)) throw err;
      this.skipped.add(flavor.flavorId);
      this.emit('skipped', { flavorId: flavor.flavorId, error: err });
    }
  }
}
