/**
 * `RearHub`: every REST call of the contract (§4–§7, §11–§12) and the live channel (§8),
 * typed from the wire types generated from schemas/.
 *
 *   const hub = new RearHub({ url: 'http://127.0.0.1:5000', token, WebSocket });
 *   const offers = await hub.flavors.list({ type: 'k8slice', filter: { cpu: { range: { min: '4' } } } });
 *   const tx = await hub.reserve(offers[0].flavorId, { wait: 30 });
 *   const contract = await hub.purchase(tx.TransactionID);
 */
import { HubError } from '../errors.js';
import { parseJsonSelector, type Selector } from '../domain/selector.js';
import type {
  Configuration,
  Contract,
  FieldFilter,
  Flavor,
  FlavorPublish,
  FlavorRefresh,
  Health,
  Purchase,
  Reservation,
  SubscriptionSelector,
  Transaction,
  Whoami,
  JwkSet,
} from '../types/wire.js';
import type { Backoff } from './backoff.js';
import { hubError } from './errors.js';
import { LiveConnection, type WebSocketConstructor } from './live.js';
import { RestClient, type RestOptions } from './rest.js';
import { Subscription, type SubscriptionOptions, type SubscriptionTarget } from './subscription.js';

export interface RearHubOptions extends RestOptions {
  /** A WebSocket constructor; defaults to `globalThis.WebSocket` (pass `ws`'s in Node 20). */
  WebSocket?: WebSocketConstructor;
  reconnectBackoff?: Backoff;
  /** Client PING interval, ms; a socket silent for one interval after a PING is replaced. Default 25,000; 0 is off. */
  heartbeatMs?: number;
}

export type FlavorTypeSpelling = NonNullable<SubscriptionSelector['type']>;

export interface ListOptions {
  /** One type (any spelling the hub accepts); without it, every flavor. */
  type?: FlavorTypeSpelling;
  /** The §4 selector, as JSON: `{ cpu: { range: { min: '4' } }, architecture: { match: 'amd64' } }`. */
  filter?: Record<string, FieldFilter>;
  signal?: AbortSignal;
}

export interface ReserveOptions {
  /** Seconds to wait in the flavor's line (`Prefer: wait`); 0 answers at once. */
  wait?: number;
  Configuration?: Configuration;
  signal?: AbortSignal;
}

const seg = encodeURIComponent;

/** `filter[cpu][range][min]=4&…` from the JSON form of a selector. */
export function selectorQuery(filter: Record<string, FieldFilter> = {}): string {
  const parts: string[] = [];
  const add = (k: string, v: string | number) =>
    parts.push(`${seg(k).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${seg(String(v))}`);
  for (const [field, f] of Object.entries(filter)) {
    if (f.match !== undefined) add(`filter[${field}][match]`, f.match);
    if (f.exact !== undefined) add(`filter[${field}][exact]`, f.exact);
    if (f.range?.min !== undefined) add(`filter[${field}][range][min]`, f.range.min);
    if (f.range?.max !== undefined) add(`filter[${field}][range][max]`, f.range.max);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export class RearHub {
  readonly rest: RestClient;
  /** The one WebSocket every subscription shares; its `state` and events are observable. */
  readonly connection: LiveConnection;

  constructor(options: RearHubOptions) {
    this.rest = new RestClient(options);
    const ws = `${this.rest.baseUrl.replace(/^http/, 'ws')}/api/v2/subscriptions${
      options.token ? `?access_token=${seg(options.token)}` : ''
    }`;
    this.connection = new LiveConnection(
      ws,
      options.WebSocket,
      options.reconnectBackoff,
      options.heartbeatMs,
    );
  }

  readonly flavors = {
    /** LIST_FLAVORS (§4). */
    list: (o: ListOptions = {}): Promise<Flavor[]> =>
      this.rest.request(
        'GET',
        `/flavors${o.type ? `/${seg(o.type)}` : ''}${selectorQuery(o.filter)}`,
        {
          signal: o.signal,
          idempotent: true,
        },
      ),
    get: (flavorId: string): Promise<Flavor> =>
      this.rest.request('GET', `/flavors/${seg(flavorId)}`, { idempotent: true }),
    /** Publishes one offer (§7). Not retried when no answer came: it is not idempotent. */
    publish: (offer: FlavorPublish, o: { signal?: AbortSignal } = {}): Promise<Flavor> =>
      this.rest.request('POST', '/flavors', { body: offer, signal: o.signal }),
    /** Publishes up to 1,000 offers at once, all or nothing (§7). */
    publishMany: (offers: FlavorPublish[], o: { signal?: AbortSignal } = {}): Promise<Flavor[]> =>
      this.rest.request('POST', '/flavors', { body: offers, signal: o.signal }),
    refresh: (flavorId: string, body: FlavorRefresh = {}): Promise<Flavor> =>
      this.rest.request('POST', `/flavors/${seg(flavorId)}/refresh`, { body }),
    withdraw: (flavorId: string, reason?: string): Promise<Flavor> =>
      this.rest.request('POST', `/flavors/${seg(flavorId)}/withdraw`, {
        body: reason ? { Reason: { Message: reason } } : {},
      }),
  };

  readonly contracts = {
    list: (): Promise<Contract[]> => this.rest.request('GET', '/contracts', { idempotent: true }),
    get: (contractId: string): Promise<Contract> =>
      this.rest.request('GET', `/contracts/${seg(contractId)}`, { idempotent: true }),
  };

  /**
   * RESERVE_FLAVOR (§5): waits in the flavor's line (bounded by `wait`, else one TTP at most);
   * abort it with `signal`. Safe to retry: the same buyer, flavor and Configuration get the
   * same Transaction.
   */
  reserve(flavor: string | Reservation, o: ReserveOptions = {}): Promise<Transaction> {
    const body: Reservation =
      typeof flavor === 'string'
        ? { FlavorID: flavor, ...(o.Configuration ? { Configuration: o.Configuration } : {}) }
        : flavor;
    return this.rest.request('POST', '/reservations', {
      body,
      signal: o.signal,
      idempotent: true,
      ...(o.wait !== undefined
        ? { headers: { prefer: `wait=${Math.max(0, Math.floor(o.wait))}` } }
        : {}),
    });
  }

  /** PURCHASE_FLAVOR (§6); a retry replays the same Contract. */
  purchase(transactionId: string, body: Purchase = {}): Promise<Contract> {
    return this.rest.request('POST', `/transactions/${seg(transactionId)}/purchase`, {
      body,
      idempotent: true,
    });
  }

  transaction(transactionId: string): Promise<Transaction> {
    return this.rest.request('GET', `/transactions/${seg(transactionId)}`, { idempotent: true });
  }

  /** Cancels a live hold (the lock passes to the next in line). */
  async cancel(transactionId: string): Promise<void> {
    await this.rest.request('DELETE', `/transactions/${seg(transactionId)}`, { idempotent: true });
  }

  whoami(): Promise<Whoami> {
    return this.rest.request('GET', '/whoami', { idempotent: true });
  }

  /** The hub's contract keys (§12): a JWK Set to check a Contract's `Signature` with. */
  keys(): Promise<JwkSet> {
    return this.rest.request('GET', '/keys', { idempotent: true });
  }

  health(): Promise<Health> {
    return this.rest.request('GET', '//healthz', { idempotent: true });
  }

  /**
   * SUBSCRIBE_FLAVOR (§8) on the shared WebSocket (opened now if it is not). Read it with
   * `.on('event' | 'subscribed' | 'state' | 'error', …)` or `for await`.
   */
  subscribe(target: SubscriptionTarget, options?: SubscriptionOptions): Subscription {
    let selector: Selector | undefined;
    if ('selector' in target) {
      try {
        selector = parseJsonSelector(target.selector);
      } catch (err) {
        if (err instanceof HubError)
          throw hubError({ code: err.code, statusCode: err.statusCode, message: err.message });
        throw err;
      }
    }
    const sub = new Subscription(this.connection, target, selector, options);
    this.connection.add(sub);
    return sub;
  }

  /** Closes the WebSocket and ends every subscription. Safe to call twice. */
  close(): void {
    this.connection.close();
  }
}
