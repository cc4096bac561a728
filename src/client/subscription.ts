/**
 * One subscription on the client's shared WebSocket (centrifuge-js's `Subscription` is the
 * model): an observable state, callbacks, `for await` with a bounded buffer, and the view it
 * keeps (the flavors it currently covers), so that it can resume with `since` + `epoch` and
 * never hand its reader an event twice or out of `seq` order.
 */
import { factsOf } from '../domain/flavor-facts.js';
import type { Selector } from '../domain/selector.js';
import type {
  Flavor,
  FlavorAddedMessage,
  RefreshFlavorMessage,
  SubscribedMessage,
  SubscriptionSelector,
  WithdrawFlavorMessage,
} from '../types/wire.js';
import { Emitter } from './emitter.js';
import type { HubApiError } from './errors.js';

/** The events a subscription delivers. */
export type FlavorEvent = FlavorAddedMessage | RefreshFlavorMessage | WithdrawFlavorMessage;

/** What SUBSCRIBED said, with what the client knows about it. */
export interface SubscribedContext {
  type: 'SUBSCRIBED';
  /** The hub's id of the subscription (it changes on each connection). */
  subscription: string;
  /** The snapshot: every flavor the subscription covers now (empty when recovered). */
  flavors: Flavor[];
  /** The resume reached back: the missed events follow, and `flavors` is empty. */
  recovered: boolean;
  /** This SUBSCRIBED answers a resume (after a drop), recovered or not. */
  wasRecovering: boolean;
  /** The reader's buffer overflowed; the events it missed are replaced by this snapshot. */
  overflowed?: true;
  seq: number | undefined;
  epoch: string | undefined;
}

export type SubscriptionItem = SubscribedContext | FlavorEvent;

export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

export type SubscriptionTarget = { flavorId: string } | { selector: SubscriptionSelector };

export interface SubscriptionOptions {
  /** Most items a `for await` reader may fall behind by before it is re-snapshotted. Default 1,000. */
  bufferSize?: number;
}

export interface SubscriptionEvents {
  state: { state: SubscriptionState; previous: SubscriptionState; reason?: string };
  subscribed: SubscribedContext;
  event: FlavorEvent;
  error: HubApiError;
}

/** How the connection reaches the subscription's owner (live.ts). */
export interface SubscriptionOwner {
  unsubscribe(sub: Subscription): void;
}

export class Subscription extends Emitter<SubscriptionEvents> {
  state: SubscriptionState = 'subscribing';
  /** The newest seq delivered (or the snapshot's), used as `since` on a resume. */
  lastSeq: number | undefined;
  /** The hub's history name from the last SUBSCRIBED, sent with `since` on a resume. */
  epoch: string | undefined;
  /** The hub's id of the subscription on the current connection. */
  serverId: string | undefined;
  /** The flavors the subscription covers now, by id. */
  readonly view = new Map<string, Flavor>();
  private resuming = false;
  /** The last resume was not believed (another history): the next snapshot still answers it. */
  private wasReset = false;
  private readonly bufferSize: number;
  private error: HubApiError | undefined;

  constructor(
    private readonly owner: SubscriptionOwner,
    readonly target: SubscriptionTarget,
    private readonly selector: Selector | undefined,
    options: SubscriptionOptions = {},
  ) {
    super();
    this.bufferSize = Math.max(1, options.bufferSize ?? 1000);
  }

  /** The flavors the subscription covers now. */
  flavors(): Flavor[] {
    return [...this.view.values()];
  }

  /** Resolves once subscribed (at once if already); rejects if the hub refuses it. */
  ready(): Promise<SubscribedContext | undefined> {
    if (this.state === 'subscribed') return Promise.resolve(undefined);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const offs = [
        this.on('subscribed', (ctx) => {
          offs.forEach((f) => f());
          resolve(ctx);
        }),
        this.on('error', (err) => {
          offs.forEach((f) => f());
          reject(err);
        }),
      ];
    });
  }

  unsubscribe(): void {
    if (this.state === 'unsubscribed') return;
    this.owner.unsubscribe(this);
    this.setState('unsubscribed', 'unsubscribed by the client');
  }

  /** Reads items as they come, through a bounded buffer; `break` unsubscribes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<SubscriptionItem> {
    const queue: SubscriptionItem[] = [];
    let wake: (() => void) | undefined;
    const push = (item: SubscriptionItem) => {
      if (queue.length >= this.bufferSize) {
        // The reader fell too far behind: what it missed is summed up by the current view.
        queue.length = 0;
        queue.push(this.context(true));
      } else queue.push(item);
      wake?.();
    };
    const offs = [
      this.on('subscribed', push),
      this.on('event', push),
      this.on('state', () => wake?.()),
      this.on('error', () => wake?.()),
    ];
    const stop = () => offs.forEach((f) => f());
    const iterator: AsyncIterableIterator<SubscriptionItem> = {
      next: async () => {
        for (;;) {
          const item = queue.shift();
          if (item) return { value: item, done: false };
          if (this.error) {
            stop();
            throw this.error;
          }
          if (this.state === 'unsubscribed') {
            stop();
            return { value: undefined, done: true };
          }
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      },
      return: async () => {
        stop();
        this.unsubscribe();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  // ---- driven by the connection (live.ts) ---------------------------------------------

  /** @internal The SUBSCRIBE_FLAVOR frame to send now. */
  request(id: string): Record<string, unknown> {
    this.resuming = this.lastSeq !== undefined || this.wasReset;
    this.setState('subscribing');
    return {
      type: 'SUBSCRIBE_FLAVOR',
      id,
      ...this.target,
      ...(this.lastSeq !== undefined ? { since: this.lastSeq } : {}),
      ...(this.lastSeq !== undefined && this.epoch !== undefined ? { epoch: this.epoch } : {}),
    };
  }

  /**
   * @internal Takes SUBSCRIBED; answers whether missed events follow (`recovered`), a snapshot
   * came, or the answer cannot be trusted and the client must subscribe afresh (`reset`).
   */
  subscribed(msg: SubscribedMessage): 'recovered' | 'snapshot' | 'reset' {
    this.serverId = msg.subscription;
    if (msg.recovered === true) {
      const epochChanged =
        msg.epoch !== undefined && this.epoch !== undefined && msg.epoch !== this.epoch;
      const seqWentBack =
        msg.seq !== undefined && this.lastSeq !== undefined && msg.seq < this.lastSeq;
      if (epochChanged || seqWentBack) {
        // A history that started anew cannot continue ours: forget the position, keep `resuming`.
        this.lastSeq = undefined;
        this.epoch = undefined;
        this.wasReset = true;
        return 'reset';
      }
      if (msg.epoch !== undefined) this.epoch = msg.epoch;
      this.setState('subscribed');
      this.emit('subscribed', {
        type: 'SUBSCRIBED',
        subscription: msg.subscription,
        flavors: [],
        recovered: true,
        wasRecovering: true,
        seq: msg.seq,
        epoch: this.epoch,
      });
      return 'recovered';
    }
    const wasRecovering = this.resuming || msg.recovered === false;
    this.wasReset = false;
    this.view.clear();
    for (const f of msg.flavors) this.view.set(f.flavorId, f);
    this.lastSeq = msg.seq;
    this.epoch = msg.epoch;
    this.setState('subscribed');
    this.emit('subscribed', { ...this.context(false), wasRecovering, flavors: msg.flavors });
    return 'snapshot';
  }

  /** @internal Whether a live event is this subscription's. */
  hears(msg: FlavorEvent): boolean {
    if (this.state !== 'subscribed') return false;
    if ('flavorId' in this.target) return msg.flavorId === this.target.flavorId;
    return this.view.has(msg.flavorId) || this.matches(msg.Flavor);
  }

  /** @internal Delivers an event, once and in seq order. */
  deliver(msg: FlavorEvent): void {
    if (this.lastSeq !== undefined && msg.seq <= this.lastSeq) return;
    this.lastSeq = msg.seq;
    if (msg.type === 'WITHDRAW_FLAVOR') this.view.delete(msg.flavorId);
    else if (msg.type === 'REFRESH_FLAVOR' && !this.matches(msg.Flavor))
      this.view.delete(msg.flavorId);
    else this.view.set(msg.flavorId, msg.Flavor);
    this.emit('event', msg);
    // Nothing follows a flavor's withdrawal: a subscription to it ends there.
    if (msg.type === 'WITHDRAW_FLAVOR' && 'flavorId' in this.target) {
      this.owner.unsubscribe(this);
      this.setState('unsubscribed', 'the flavor was withdrawn');
    }
  }

  /** @internal The connection dropped: the subscription waits to be resumed. */
  disconnected(): void {
    this.serverId = undefined;
    if (this.state === 'subscribed') this.setState('subscribing', 'connection lost');
  }

  /** @internal The hub refused the subscription, or the client closed. */
  fail(err: HubApiError | undefined, reason: string): void {
    if (this.state === 'unsubscribed') return;
    this.error = err;
    this.setState('unsubscribed', reason);
    if (err) this.emit('error', err);
  }

  private matches(f: Flavor): boolean {
    return this.selector ? this.selector.test(factsOf(f)) : true;
  }

  private context(overflowed: boolean): SubscribedContext {
    return {
      type: 'SUBSCRIBED',
      subscription: this.serverId ?? '',
      flavors: this.flavors(),
      recovered: false,
      wasRecovering: false,
      ...(overflowed ? { overflowed: true as const } : {}),
      seq: this.lastSeq,
      epoch: this.epoch,
    };
  }

  private setState(state: SubscriptionState, reason?: string): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.emit('state', { state, previous, ...(reason ? { reason } : {}) });
  }
}
