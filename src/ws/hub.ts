/**
 * SUBSCRIBE_FLAVOR over WebSocket (§8): each connection's subscription set, snapshots that
 * close the gap between a list and a subscribe, resumption from the bus history, and
 * fan-out of committed events — each serialized once, the same buffer sent to every
 * recipient. A thin adapter: it reads the market and never changes it.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../clock.js';
import type { DomainEvent } from '../domain/events.js';
import type { Market } from '../domain/market.js';
import type { Principal } from '../domain/principal.js';
import { parseJsonSelector, type Selector } from '../domain/selector.js';
import { CLOSE_CODES, HubError, type ErrorCode } from '../errors.js';
import { lazyValidator } from '../schemas.js';
import type {
  ClientMessage,
  SubscribeFlavorMessage,
  UnsubscribeFlavorMessage,
} from '../types/wire.js';
import { Connection, type ConnectionLimits } from './connection.js';
import { textFrame } from './frame.js';
import { PingWheel } from './ping-wheel.js';
import {
  findSubscription,
  selectorHears,
  SubscriptionIndex,
  subscriptionCount,
  subscriptionsOf,
  type Target,
} from './subscriptions.js';

export interface HubOptions extends ConnectionLimits {
  /** Interval of protocol pings; a client that misses one is dropped. */
  pingIntervalMs: number;
  /** Subscriptions one connection may hold. */
  maxSubscriptionsPerConnection: number;
}

const validate = lazyValidator<ClientMessage>('ClientMessage');

/**
 * Plain running counts the hub keeps for whoever watches it (GET /metrics reads them when
 * scraped): a number added to on the hot path, nothing more.
 */
export interface HubCounters {
  /** Event frames handed to recipients' sockets. */
  deliveries: number;
  /** Connections dropped for missing a ping. */
  pingDrops: number;
  /** Closed connections by close code: the one the hub sent, else the client's. */
  closes: Map<number, number>;
}

export class WsHub {
  private readonly connections = new Set<Connection>();
  /** TCP sockets corked in this event-loop turn (see hold). */
  private corked: Duplex[] = [];
  private readonly index = new SubscriptionIndex<Connection>();
  private readonly unlisten: () => void;
  private pingTimer: TimerHandle | undefined;
  /** The connections in slices, one pinged per tick (ping-wheel.ts); none when pings are off. */
  private readonly pings: PingWheel<Connection> | undefined;
  private closed = false;
  private subscriptionCounter = 0;
  readonly counters: HubCounters = { deliveries: 0, pingDrops: 0, closes: new Map() };

  constructor(
    private readonly market: Market,
    private readonly clock: Clock,
    private readonly options: HubOptions,
  ) {
    this.unlisten = market.bus.listen((e) => this.deliver(e));
    if (options.pingIntervalMs > 0) this.pings = new PingWheel(options.pingIntervalMs);
    this.armPing();
  }

  get size(): number {
    return this.connections.size;
  }

  /** Subscriptions held by every open connection (walks the connections: for scrapes). */
  subscriptionCount(): number {
    let n = 0;
    for (const conn of this.connections) n += subscriptionCount(conn);
    return n;
  }

  /** Takes a freshly upgraded socket of an authenticated principal. */
  accept(socket: WebSocket, principal: Principal, upgrade: { socket: Duplex }): void {
    if (this.closed) {
      socket.close(CLOSE_CODES.GOING_AWAY.code, 'shutting down');
      return;
    }
    // @fastify/websocket's error listener closes over the request and reply; swap it for one
    // that does not, so an idle connection keeps only its socket and subscriptions.
    socket.removeAllListeners('error');
    // The upgrade's placeholder HTTP response stays attached to the TCP socket; drop it (and
    // with it the request and its headers) now that the socket speaks WebSocket.
    const tcp = upgrade.socket as Duplex & { _httpMessage?: unknown };
    tcp._httpMessage = null;
    const conn = new Connection(socket, tcp, principal, this, this.options);
    this.connections.add(conn);
    this.pings?.add(conn);
    this.index.addConnection(conn);
    // Shared listener functions find their connection on the socket: no closures per socket.
    (socket as Owned)[OWNER] = conn;
    socket.on('error', onError);
    socket.on('pong', onPong);
    socket.on('message', onMessage);
    socket.on('close', onClose);
    // A JWT's expiry ends the connection it opened, with a code that says so.
    if (principal.expiresAt !== undefined) this.closeAtExpiry(conn, principal.expiresAt);
  }

  private closeAtExpiry(conn: Connection, at: number): void {
    const left = at - this.clock.now();
    // setTimeout keeps its delay in an int32: a later expiry is re-armed when that is reached.
    conn.expiry = this.clock.setTimer(
      () =>
        left > MAX_TIMER_MS
          ? this.closeAtExpiry(conn, at)
          : conn.close(CLOSE_CODES.TOKEN_EXPIRED.code, 'token expired'),
      Math.min(MAX_TIMER_MS, Math.max(0, left)),
    );
  }

  /** Closes every client with 1001 and stops the ping timer; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlisten();
    this.pingTimer?.cancel();
    this.release();
    for (const conn of this.connections)
      conn.close(CLOSE_CODES.GOING_AWAY.code, 'hub shutting down');
  }

  /** @internal for the shared socket listeners */
  drop(conn: Connection, code: number): void {
    if (!this.connections.delete(conn)) return;
    this.pings?.remove(conn);
    const closedWith = conn.closedWith ?? code;
    this.counters.closes.set(closedWith, (this.counters.closes.get(closedWith) ?? 0) + 1);
    conn.dispose();
    this.index.removeConnection(conn);
  }

  /** Pings the wheel's next slice each tick: every connection once per interval. */
  private armPing(): void {
    const pings = this.pings;
    if (this.closed || !pings) return;
    this.pingTimer = this.clock.setTimer(() => {
      for (const conn of pings.visit()) {
        if (!conn.alive) {
          this.counters.pingDrops++;
          conn.socket.terminate();
          continue;
        }
        conn.alive = false;
        conn.ping();
      }
      this.armPing();
    }, pings.tickMs);
  }

  /**
   * Fan-out corks each recipient's TCP socket until the end of the event-loop turn, so every
   * frame a socket gets in that turn leaves in one write. Under load, when several events go
   * out in one turn, a subscriber costs one syscall per turn instead of one per event. Order
   * is unchanged: everything for a socket goes through its one write queue, corked or not.
   */
  private hold(conn: Connection): void {
    const tcp = conn.tcp;
    // ws corks and uncorks within each send; a count above zero here is our own cork.
    if (tcp.writableCorked > 0) return;
    tcp.cork();
    this.corked.push(tcp);
    if (this.corked.length === 1) setImmediate(this.release);
  }

  private readonly release = (): void => {
    const sockets = this.corked;
    this.corked = [];
    for (const tcp of sockets) tcp.uncork();
  };

  private deliver(event: DomainEvent): void {
    const recipients = this.index.recipients(event);
    if (recipients.length > 0) {
      const frame = textFrame(event.wire);
      this.counters.deliveries += recipients.length;
      for (const conn of recipients) {
        this.hold(conn);
        conn.sendFrame(frame);
      }
    }
    // Nothing follows a withdrawal: subscriptions to that flavor end with it.
    if (event.kind === 'withdrawn') this.index.endFlavor(event.flavorId);
  }

  /** @internal for the shared socket listeners */
  onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    // A resume reading the store holds the connection's later frames, so they are answered in
    // the order they came (an UNSUBSCRIBE never overtakes the SUBSCRIBE it names).
    if (conn.waiting) {
      conn.waiting.push({ data, isBinary });
      return;
    }
    let msg: unknown;
    try {
      if (isBinary) throw new Error('binary');
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      this.error(conn, undefined, 'INVALID_REQUEST', 'Every frame must be one JSON text message');
      return;
    }
    const id =
      typeof (msg as { id?: unknown })?.id === 'string' ? (msg as { id: string }).id : undefined;
    if (!validate(msg)) {
      const e = validate.errors?.[0];
      const where = e
        ? `${e.instancePath || 'message'} ${e.message ?? 'is invalid'}`
        : 'is invalid';
      this.error(conn, id, 'INVALID_REQUEST', `Unknown or malformed message: ${where}`);
      return;
    }
    this.answering(conn, id, () => {
      switch (msg.type) {
        case 'SUBSCRIBE_FLAVOR':
          this.subscribe(conn, msg);
          break;
        case 'UNSUBSCRIBE_FLAVOR':
          this.unsubscribe(conn, msg);
          break;
        case 'PING':
          conn.send(JSON.stringify({ type: 'PONG', ...(id !== undefined ? { id } : {}) }));
          break;
      }
    });
  }

  /** Runs a request's handling; a failure is answered as an ERROR to its id. */
  private answering(conn: Connection, id: string | undefined, handle: () => void): void {
    try {
      handle();
    } catch (err) {
      if (err instanceof HubError) this.error(conn, id, err.code, err.message);
      else this.error(conn, id, 'INTERNAL', 'Internal error');
    }
  }

  private error(conn: Connection, id: string | undefined, code: ErrorCode, message: string): void {
    conn.send(
      JSON.stringify({ type: 'ERROR', ...(id !== undefined ? { id } : {}), code, message }),
    );
  }

  private subscribe(conn: Connection, msg: SubscribeFlavorMessage): void {
    const hasFlavor = msg.flavorId !== undefined;
    if (hasFlavor === (msg.selector !== undefined)) {
      throw new HubError(
        'INVALID_REQUEST',
        'SUBSCRIBE_FLAVOR takes exactly one of flavorId and selector',
      );
    }
    const selector = msg.selector ? parseJsonSelector(msg.selector) : undefined;
    const { bus } = this.market;
    // A position counts only in the history it was read from: another epoch is never recovered.
    if (msg.since === undefined || (msg.epoch !== undefined && msg.epoch !== bus.epoch)) {
      this.subscribed(conn, msg, selector, undefined);
      return;
    }
    const keep = hasFlavor
      ? (e: DomainEvent) => e.flavorId === msg.flavorId && e.kind !== 'confirmed'
      : (e: DomainEvent) => selectorHears(selector as Selector, e);
    let answered = false;
    bus.resume(msg.since, keep, (backlog) => {
      answered = true;
      // The bus's callback must not throw: a refusal is answered here.
      if (!conn.waiting) {
        this.answering(conn, msg.id, () => this.subscribed(conn, msg, selector, backlog));
        return;
      }
      // Answered in a later turn (the store was read): then the frames held meanwhile.
      const held = conn.waiting;
      conn.waiting = undefined;
      if (!conn.open) return;
      this.answering(conn, msg.id, () => this.subscribed(conn, msg, selector, backlog));
      for (let i = 0; i < held.length; i++) {
        const frame = held[i] as { data: Buffer; isBinary: boolean };
        this.onMessage(conn, frame.data, frame.isBinary);
        // Another resume started reading: it holds the rest after its own.
        if (conn.waiting) {
          (conn.waiting as typeof held).unshift(...held.slice(i + 1));
          return;
        }
      }
    });
    if (!answered) conn.waiting = [];
  }

  /**
   * Answers a SUBSCRIBE_FLAVOR: SUBSCRIBED, then the events owed since `since` (`backlog`,
   * undefined when there is no resume or it cannot be recovered: then a snapshot). Runs in the
   * turn the backlog was taken, so the subscription hears every later event exactly once.
   */
  private subscribed(
    conn: Connection,
    msg: SubscribeFlavorMessage,
    selector: Selector | undefined,
    backlog: DomainEvent[] | undefined,
  ): void {
    const hasFlavor = msg.flavorId !== undefined;
    const { catalog, bus } = this.market;
    const resumable = backlog !== undefined;
    // One lookup: the snapshot, the shared id string and whether the subscription outlives this frame.
    const entry = hasFlavor ? catalog.get(msg.flavorId as string) : undefined;
    let flavors: string[] = [];
    if (hasFlavor) {
      if (!entry && !backlog?.length) {
        throw new HubError('FLAVOR_NOT_FOUND', `No flavor ${msg.flavorId} on offer`);
      }
      if (!resumable && entry) flavors = [entry.json];
    } else if (!resumable) {
      flavors = catalog.list(selector).map((e) => e.json);
    }

    // Keep the catalog's copy of the id string, not the one parsed from this frame: thousands
    // of idle subscriptions then share it.
    const flavorId = hasFlavor ? (entry?.flavor.flavorId ?? msg.flavorId) : undefined;
    const subId = this.findOrAdd(conn, flavorId ?? (selector as Selector));
    const head: Record<string, unknown> = {
      type: 'SUBSCRIBED',
      ...(msg.id !== undefined ? { id: msg.id } : {}),
      subscription: String(subId),
      ...(hasFlavor ? { flavorId: msg.flavorId } : { selector: msg.selector }),
      ...(msg.since !== undefined ? { recovered: resumable } : {}),
      seq: bus.lastSeq,
      epoch: bus.epoch,
    };
    const text = JSON.stringify(head);
    conn.send(`${text.slice(0, -1)},"flavors":[${flavors.join(',')}]}`);
    if (backlog) for (const e of backlog) conn.send(e.wire);
    // A flavor whose withdrawal was just replayed has nothing more to say.
    if (hasFlavor && !entry) this.index.remove(conn, subId);
  }

  /** The id of the connection's subscription to the target, made if it has none. */
  private findOrAdd(conn: Connection, target: Target): number {
    const existing = findSubscription(conn, target);
    if (existing !== undefined) return existing;
    if (subscriptionCount(conn) >= this.options.maxSubscriptionsPerConnection) {
      throw new HubError(
        'INVALID_REQUEST',
        `At most ${this.options.maxSubscriptionsPerConnection} subscriptions per connection`,
      );
    }
    const id = ++this.subscriptionCounter;
    this.index.add(conn, id, target);
    return id;
  }

  private unsubscribe(conn: Connection, msg: UnsubscribeFlavorMessage): void {
    const named = [msg.subscription, msg.flavorId, msg.selector].filter(
      (v) => v !== undefined,
    ).length;
    if (named !== 1) {
      throw new HubError(
        'INVALID_REQUEST',
        'UNSUBSCRIBE_FLAVOR takes exactly one of subscription, flavorId and selector',
      );
    }
    const key = msg.selector ? parseJsonSelector(msg.selector).key : undefined;
    const ended: number[] = [];
    for (const [id, target] of [...subscriptionsOf(conn)]) {
      const hit =
        msg.subscription !== undefined
          ? String(id) === msg.subscription
          : msg.flavorId !== undefined
            ? target === msg.flavorId
            : typeof target !== 'string' && target.key === key;
      if (!hit) continue;
      this.index.remove(conn, id);
      ended.push(id);
    }
    // Idempotent: unsubscribing what is already gone still answers UNSUBSCRIBED.
    conn.send(
      JSON.stringify({
        type: 'UNSUBSCRIBED',
        ...(msg.id !== undefined ? { id: msg.id } : {}),
        ...(ended.length === 1 ? { subscription: String(ended[0]) } : {}),
      }),
    );
  }
}

const MAX_TIMER_MS = 2_147_483_647;
const OWNER = Symbol('rear-hub connection');
type Owned = WebSocket & { [OWNER]?: Connection };

function onError(this: Owned, err: Error): void {
  // ws has already sent the close code the error carries (1009 for a frame over the bound).
  const conn = this[OWNER];
  if (conn) conn.closedWith ??= statusOf(err);
  this.terminate();
}

function statusOf(err: Error): number | undefined {
  const key = Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code');
  const code = key && (err as unknown as Record<symbol, unknown>)[key];
  return typeof code === 'number' ? code : undefined;
}

function onPong(this: Owned): void {
  const conn = this[OWNER];
  if (conn) conn.alive = true;
}

function onMessage(this: Owned, data: Buffer, isBinary: boolean): void {
  const conn = this[OWNER];
  conn?.owner.onMessage(conn, data, isBinary);
}

function onClose(this: Owned, code: number): void {
  const conn = this[OWNER];
  conn?.owner.drop(conn, code);
}
