/**
 * The live half of the client: one WebSocket shared by every subscription, opened on the
 * first subscribe, reconnected with full-jitter backoff, and every subscription resumed with
 * `since` + `epoch` on the new socket.
 *
 * Routing: events carry no subscription id (the hub sends a connection each event once), so
 * the connection hands each live event to every subscription that hears it (its flavor, or a
 * flavor its selector matches or that is in its view). The events that follow a recovered
 * SUBSCRIBED, up to its `seq`, are that subscription's backlog and go to it alone: the hub
 * writes SUBSCRIBED and its backlog in one go, so nothing else comes between them.
 */
import { ERRORS } from '../errors.js';
import type { ConfirmReservationMessage, ServerMessage } from '../types/wire.js';
import { fullJitter, RECONNECT_BACKOFF, type Backoff } from './backoff.js';
import { Emitter } from './emitter.js';
import { hubError, type HubApiError } from './errors.js';
import type { FlavorEvent, Subscription, SubscriptionOwner } from './subscription.js';

/**
 * What the client needs of a WebSocket: the browser's, or `ws`'s in Node 20 (which has no
 * global one). The handlers take `never` so that both constructors' own event types fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: never) => void) | null;
  onmessage: ((ev: never) => void) | null;
  onclose: ((ev: never) => void) | null;
  onerror: ((ev: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'closed';

export interface ConnectionEvents {
  state: { state: ConnectionState; previous: ConnectionState; code?: number; reason?: string };
  /** CONFIRM_RESERVATION: a purchase of this identity is final (§6). */
  confirmation: ConfirmReservationMessage;
  /** An ERROR frame not tied to a subscription, or a refused upgrade. */
  error: HubApiError;
}

const OPEN = 1;

export class LiveConnection extends Emitter<ConnectionEvents> implements SubscriptionOwner {
  state: ConnectionState = 'disconnected';
  private socket: WebSocketLike | undefined;
  private readonly subs = new Set<Subscription>();
  private readonly pending = new Map<string, Subscription>();
  private backlog: { sub: Subscription; upto: number } | undefined;
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private nextId = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private awaitingPong = false;

  /**
   * `heartbeatMs`: how often the client sends PING; a socket that has not answered the previous
   * one by then is taken for dead (a half-open TCP connection never closes on its own) and
   * replaced. 0 turns it off.
   */
  constructor(
    private readonly url: string,
    private readonly WS: WebSocketConstructor | undefined,
    private readonly backoff: Backoff = RECONNECT_BACKOFF,
    private readonly heartbeatMs = 25_000,
  ) {
    super();
  }

  add(sub: Subscription): void {
    if (this.state === 'closed') {
      sub.fail(undefined, 'the client is closed');
      return;
    }
    this.subs.add(sub);
    if (this.state === 'connected') this.subscribe(sub);
    else if (this.state === 'disconnected' && !this.retry) this.connect();
  }

  unsubscribe(sub: Subscription): void {
    if (!this.subs.delete(sub)) return;
    if (sub.serverId && this.state === 'connected')
      this.send({ type: 'UNSUBSCRIBE_FLAVOR', subscription: sub.serverId });
  }

  /** Drops the socket as a network fault would (the subscriptions resume on a new one). */
  drop(): void {
    this.socket?.close(4000, 'dropped by the client');
  }

  close(): void {
    if (this.state === 'closed') return;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.stopHeartbeat();
    const socket = this.socket;
    this.socket = undefined;
    this.setState('closed');
    socket?.close(1000, 'bye');
    for (const sub of this.subs) sub.fail(undefined, 'the client closed');
    this.subs.clear();
  }

  private connect(): void {
    this.retry = undefined;
    const WS = this.WS ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new Error('No WebSocket here: pass one (e.g. `ws`) as the WebSocket option');
    this.setState('connecting');
    const socket = new WS(this.url);
    this.socket = socket;
    let failure = '';
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      this.setState('connected');
      this.startHeartbeat(socket);
      for (const sub of this.subs) this.subscribe(sub);
    };
    socket.onmessage = (ev: { data: unknown }) => {
      if (this.socket === socket) this.receive(JSON.parse(String(ev.data)) as ServerMessage);
    };
    socket.onerror = (ev: { message?: string }) => {
      failure = ev.message ?? '';
    };
    socket.onclose = (ev: { code: number; reason: string }) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.closed(ev.code, ev.reason || failure);
    };
  }

  private startHeartbeat(socket: WebSocketLike): void {
    this.stopHeartbeat();
    if (this.heartbeatMs <= 0) return;
    this.heartbeat = setInterval(() => {
      if (this.socket !== socket) return this.stopHeartbeat();
      if (this.awaitingPong) return socket.close(4001, 'no answer to PING');
      this.awaitingPong = true;
      this.send({ type: 'PING', id: 'heartbeat' });
    }, this.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.awaitingPong = false;
  }

  private closed(code: number, reason: string): void {
    this.stopHeartbeat();
    this.backlog = undefined;
    this.pending.clear();
    for (const sub of this.subs) sub.disconnected();
    if (/\b401\b/.test(reason)) {
      // The upgrade was refused for the token: retrying will not help.
      const err = hubError({ code: 'UNAUTHORIZED', statusCode: 401, message: reason });
      this.emit('error', err);
      for (const sub of this.subs) sub.fail(err, 'the token was refused');
      this.subs.clear();
      this.setState('disconnected', code, reason);
      return;
    }
    this.setState('disconnected', code, reason);
    if (this.subs.size === 0) return;
    const delay = fullJitter(this.attempt++, this.backoff);
    this.retry = setTimeout(() => this.connect(), delay);
  }

  private subscribe(sub: Subscription): void {
    const id = `s${++this.nextId}`;
    this.pending.set(id, sub);
    this.send(sub.request(id));
  }

  private send(msg: unknown): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(msg));
  }

  private receive(msg: ServerMessage): void {
    // Any frame shows the socket is alive.
    this.awaitingPong = false;
    switch (msg.type) {
      case 'SUBSCRIBED': {
        this.backlog = undefined;
        const sub = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (msg.id !== undefined) this.pending.delete(msg.id);
        if (!sub || !this.subs.has(sub)) {
          // Unsubscribed while the request was on its way.
          this.send({ type: 'UNSUBSCRIBE_FLAVOR', subscription: msg.subscription });
          return;
        }
        const outcome = sub.subscribed(msg);
        if (outcome === 'recovered' && msg.seq !== undefined) this.backlog = { sub, upto: msg.seq };
        else if (outcome === 'reset') this.subscribe(sub);
        return;
      }
      case 'ERROR': {
        const status = (ERRORS as Record<string, { status: number } | undefined>)[msg.code]?.status;
        const err = hubError({ code: msg.code, statusCode: status ?? 0, message: msg.message });
        const sub = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (!sub) return this.emit('error', err);
        this.pending.delete(msg.id as string);
        this.subs.delete(sub);
        sub.fail(err, `refused: ${msg.code}`);
        return;
      }
      case 'CONFIRM_RESERVATION':
        this.emit('confirmation', msg);
        return;
      case 'FLAVOR_ADDED':
      case 'REFRESH_FLAVOR':
      case 'WITHDRAW_FLAVOR':
        return this.event(msg);
      default:
        return;
    }
  }

  private event(msg: FlavorEvent): void {
    if (this.backlog && msg.seq <= this.backlog.upto) {
      this.backlog.sub.deliver(msg);
      return;
    }
    this.backlog = undefined;
    for (const sub of [...this.subs]) if (sub.hears(msg)) sub.deliver(msg);
  }

  private setState(state: ConnectionState, code?: number, reason?: string): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.emit('state', {
      state,
      previous,
      ...(code !== undefined ? { code } : {}),
      ...(reason ? { reason } : {}),
    });
  }
}
