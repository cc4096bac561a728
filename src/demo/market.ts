/**
 * The demo market: a simulator that keeps `npm start` alive. Every few seconds its providers
 * publish new offers (some short-lived), change prices and withdraw others, and a demo buyer
 * now and then reserves and purchases — all through the same public REST API any client
 * uses, with the demo tokens.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type {
  ClearTokenEntry,
  Flavor,
  FlavorPublish,
  TokenEntry,
  Transaction,
} from '../types/wire.js';
import { demoFlavors } from './seed.js';

export interface DemoMarketOptions {
  baseUrl: string;
  tokens: readonly TokenEntry[];
  clock: Clock;
  /** Time between two moves of the market. */
  intervalMs?: number;
  random?: () => number;
  onError?: (err: unknown) => void;
}

const REASONS = ['maintenance window', 'capacity reassigned', 'node drained', 'price review'];

export class DemoMarket {
  private timer: TimerHandle | undefined;
  private closed = false;
  private ticks = 0;
  private readonly providers: ClearTokenEntry[];
  private readonly buyer: ClearTokenEntry | undefined;
  private readonly random: () => number;
  private readonly pending = new Set<TimerHandle>();

  constructor(private readonly o: DemoMarketOptions) {
    // It calls the API like any client, so it needs tokens in clear text.
    const clear = o.tokens.filter((t): t is ClearTokenEntry => 'token' in t);
    this.providers = clear.filter((t) => t.role === 'provider').slice(0, 3);
    this.buyer = clear.filter((t) => t.role === 'consumer').at(-1);
    this.random = o.random ?? Math.random;
  }

  start(): void {
    this.schedule();
  }

  /** Stops the simulator; safe to call twice. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    for (const t of this.pending) t.cancel();
    this.pending.clear();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.o.clock.setTimer(() => {
      this.tick().catch((err: unknown) => this.o.onError?.(err));
      this.schedule();
    }, this.o.intervalMs ?? 4000);
  }

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs[Math.floor(this.random() * xs.length)];
  }

  private async call<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.o.baseUrl}/api/v2${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async tick(): Promise<void> {
    if (this.closed || this.providers.length === 0) return;
    this.ticks++;
    const providerIndex = Math.floor(this.random() * this.providers.length);
    const provider = this.providers[providerIndex] as ClearTokenEntry;
    const all = await this.call<Flavor[]>(provider.token, 'GET', '/flavors');
    const mine = all.filter((f) => f.providerId === provider.identity.NodeID);
    const r = this.random();
    if (all.length < 30 || (r < 0.4 && all.length < 70))
      await this.publish(provider, providerIndex);
    else if (r < 0.75 && mine.length > 0) await this.reprice(provider, this.pick(mine) as Flavor);
    else if (mine.length > 0) {
      const f = this.pick(mine) as Flavor;
      await this.call(provider.token, 'POST', `/flavors/${f.flavorId}/withdraw`, {
        Reason: { Message: this.pick(REASONS) },
      });
    }
    if (this.buyer && this.ticks % 3 === 0) await this.buy(this.buyer, all);
  }

  private async publish(provider: ClearTokenEntry, providerIndex: number): Promise<void> {
    const base = this.pick(demoFlavors(providerIndex)) as FlavorPublish;
    const shortLived = this.random() < 0.3;
    const factor = 0.8 + this.random() * 0.4;
    await this.call(provider.token, 'POST', '/flavors', {
      ...base,
      price: { ...base.price, amount: (Number(base.price.amount) * factor).toFixed(2) },
      ttlSeconds: shortLived
        ? 45 + Math.floor(this.random() * 45)
        : 60 + Math.floor(this.random() * 120),
      autoRenew: !shortLived,
    });
  }

  private async reprice(provider: ClearTokenEntry, f: Flavor): Promise<void> {
    const factor = 0.9 + this.random() * 0.2;
    const amount = Math.max(0.01, Number(f.price.amount) * factor).toFixed(2);
    await this.call(provider.token, 'POST', `/flavors/${f.flavorId}/refresh`, {
      price: { ...f.price, amount },
    });
  }

  /** Reserves an offer (a minimal partition of a pooled one), then buys or cancels it a moment later. */
  private async buy(buyer: ClearTokenEntry, offers: Flavor[]): Promise<void> {
    const f = this.pick(offers.filter((x) => x.type.name !== 'service'));
    if (!f) return;
    const t = f.type;
    const Configuration =
      t.name === 'k8slice' && t.data.policies?.partitionability
        ? {
            type: 'k8slice',
            data: {
              cpu: t.data.policies.partitionability.cpuMin,
              memory: t.data.policies.partitionability.memoryMin,
              pods: t.data.policies.partitionability.podsMin,
            },
          }
        : t.name === 'vm' && t.data.Policy
          ? { type: 'vm', data: { Count: t.data.Policy.Aggregatable.MinCount } }
          : undefined;
    const tx = await this.call<Transaction>(buyer.token, 'POST', '/reservations', {
      FlavorID: f.flavorId,
      ...(Configuration ? { Configuration } : {}),
    });
    const later = this.o.clock.setTimer(
      () => {
        this.pending.delete(later);
        if (this.closed) return;
        const cancel = this.random() < 0.2;
        this.call(
          buyer.token,
          cancel ? 'DELETE' : 'POST',
          cancel
            ? `/transactions/${tx.TransactionID}`
            : `/transactions/${tx.TransactionID}/purchase`,
        ).catch((err: unknown) => this.o.onError?.(err));
      },
      2000 + Math.floor(this.random() * 3000),
    );
    this.pending.add(later);
  }
}
