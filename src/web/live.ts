/**
 * The dashboard's live channel: one WebSocket, one selector subscription, reconnection with
 * backoff, and resumption with `since` so that no event is missed across a drop.
 */
import type { ServerMessage, SubscriptionSelector } from '../types/wire.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveHandlers {
  onState(state: LiveState, detail?: string): void;
  /** A fresh snapshot (first subscribe, new selector, or a resume past the history). */
  onSnapshot(
    flavors: Extract<ServerMessage, { type: 'SUBSCRIBED' }>['flavors'],
    recoveredFalse: boolean,
  ): void;
  onEvent(msg: ServerMessage): void;
}

export class LiveChannel {
  private socket: WebSocket | undefined;
  private selector: SubscriptionSelector = {};
  private subscription: string | undefined;
  private lastSeq: number | undefined;
  private backoff = 250;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private requestId = 0;

  constructor(
    private readonly token: string,
    private readonly handlers: LiveHandlers,
  ) {}

  start(selector: SubscriptionSelector): void {
    this.selector = selector;
    this.connect();
  }

  /** Replaces the subscription's selector; a new snapshot follows. */
  setSelector(selector: SubscriptionSelector): void {
    this.selector = selector;
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    if (this.subscription)
      this.send({ type: 'UNSUBSCRIBE_FLAVOR', subscription: this.subscription });
    this.subscription = undefined;
    this.lastSeq = undefined;
    this.subscribe();
  }

  /** For tests and the "reconnect" button: drops the socket as a network fault would. */
  drop(): void {
    this.socket?.close(4000, 'dropped by the client');
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.socket?.close(1000, 'bye');
  }

  private connect(): void {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/api/v2/subscriptions?access_token=${encodeURIComponent(this.token)}`;
    this.handlers.onState(this.lastSeq === undefined ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.backoff = 250;
      this.subscribe();
    };
    socket.onmessage = (ev) => this.receive(JSON.parse(String(ev.data)) as ServerMessage);
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.subscription = undefined;
      if (this.stopped) return this.handlers.onState('offline');
      this.handlers.onState(
        'reconnecting',
        `closed (${ev.code}); retrying in ${Math.round(this.backoff / 100) / 10} s`,
      );
      this.retry = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10_000);
    };
  }

  private subscribe(): void {
    this.send({
      type: 'SUBSCRIBE_FLAVOR',
      id: `dash-${++this.requestId}`,
      selector: this.selector,
      ...(this.lastSeq !== undefined ? { since: this.lastSeq } : {}),
    });
  }

  private send(msg: unknown): void {
    this.socket?.send(JSON.stringify(msg));
  }

  private receive(msg: ServerMessage): void {
    if (msg.type === 'SUBSCRIBED') {
      if (msg.id !== `dash-${this.requestId}`) return;
      this.subscription = msg.subscription;
      const resumed = msg.recovered === true;
      if (msg.seq !== undefined && (!resumed || this.lastSeq === undefined)) this.lastSeq = msg.seq;
      if (!resumed) this.handlers.onSnapshot(msg.flavors, msg.recovered === false);
      this.handlers.onState('live', resumed ? 'resumed without a gap' : undefined);
      return;
    }
    if ('seq' in msg && typeof msg.seq === 'number') {
      if (this.lastSeq !== undefined && msg.seq <= this.lastSeq) return;
      this.lastSeq = msg.seq;
    }
    this.handlers.onEvent(msg);
  }
}
